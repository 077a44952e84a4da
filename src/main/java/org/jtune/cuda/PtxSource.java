package org.jtune.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a PTX file declares, read from its text: the target it was written for and each kernel entry
 * with its parameter types, so launches can be checked in Java before they reach the driver.
 */
public record PtxSource(String name, String text, String target, Map<String, List<KernelParam>> entries) {

    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);
    private static final Pattern TARGET = Pattern.compile("\\.target\\s+([\\w]+)");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([\\w$]+)\\s*\\(([^)]*)\\)");
    private static final Pattern SCALAR_TYPE = Pattern.compile("\\.([bsuf])(8|16|32|64)");
    private static final Pattern ARRAY = Pattern.compile("([\\w$]+)\\s*\\[(\\d+)\\]");
    private static final Pattern SM = Pattern.compile("sm_(\\d+)(a?)");

    /** One kernel parameter: its PTX type letter (b, s, u, f), its size in bytes, and whether it is a byte array. */
    public record KernelParam(String name, char kind, int bytes, boolean array) {
        String describe() {
            return name + " (" + (array ? ".b8[" + bytes + "]" : "." + kind + bytes * 8) + ")";
        }
    }

    /** Reads the target and the kernel entries of a PTX text; {@code name} is used in messages. */
    public static PtxSource parse(String name, String text) {
        String code = COMMENTS.matcher(text).replaceAll(" ");
        Matcher target = TARGET.matcher(code);
        if (!target.find()) {
            throw new IllegalArgumentException("PTX " + name + " declares no .target");
        }
        Map<String, List<KernelParam>> entries = new LinkedHashMap<>();
        Matcher entry = ENTRY.matcher(code);
        while (entry.find()) {
            entries.put(entry.group(1), parseParams(name, entry.group(1), entry.group(2)));
        }
        return new PtxSource(name, text, target.group(1), Map.copyOf(entries));
    }

    private static List<KernelParam> parseParams(String file, String kernel, String list) {
        List<KernelParam> params = new ArrayList<>();
        if (list.isBlank()) {
            return params;
        }
        for (String declaration : list.split(",")) {
            String[] tokens = declaration.trim().split("\\s+");
            String last = tokens[tokens.length - 1];
            Matcher array = ARRAY.matcher(last);
            if (array.matches()) {
                params.add(new KernelParam(array.group(1), 'b', Integer.parseInt(array.group(2)), true));
                continue;
            }
            KernelParam param = null;
            for (String token : tokens) {
                Matcher type = SCALAR_TYPE.matcher(token);
                if (type.matches()) {
                    param = new KernelParam(last, type.group(1).charAt(0), Integer.parseInt(type.group(2)) / 8, false);
                    break;
                }
            }
            if (param == null) {
                throw new IllegalArgumentException("PTX " + file + ": cannot read parameter \"" + declaration.trim()
                        + "\" of kernel " + kernel);
            }
            params.add(param);
        }
        return List.copyOf(params);
    }

    /**
     * Whether code for {@link #target()} runs on a GPU of this compute capability: plain targets run on
     * that capability and newer; "a" targets (e.g. sm_90a) only on exactly that one.
     */
    public boolean runsOn(int computeCapability) {
        Matcher sm = SM.matcher(target);
        if (!sm.matches()) {
            return false;
        }
        int required = Integer.parseInt(sm.group(1));
        return sm.group(2).isEmpty() ? computeCapability >= required : computeCapability == required;
    }
}

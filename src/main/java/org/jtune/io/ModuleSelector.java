package org.jtune.io;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * PEFT's {@code target_modules} / {@code exclude_modules} value: a list of names, each matching a module
 * path equal to it or ending in {@code "." + name}, or one regular expression that must match the whole path.
 */
public final class ModuleSelector {
    /** PEFT's shorthand for "every Linear layer except the output layer". */
    public static final String ALL_LINEAR = "all-linear";

    private final List<String> names;
    private final String regex;
    private final Pattern pattern;

    private ModuleSelector(List<String> names, String regex) {
        this.names = names;
        this.regex = regex;
        this.pattern = regex == null ? null : Pattern.compile(regex);
    }

    /** Matches paths equal to a name or ending in {@code "." + name}. */
    public static ModuleSelector names(Collection<String> names) {
        return new ModuleSelector(List.copyOf(names), null);
    }

    /** Matches paths that the expression matches in full ({@code re.fullmatch}). */
    public static ModuleSelector regex(String regex) {
        return new ModuleSelector(null, regex);
    }

    /** True for the regular-expression form. */
    public boolean isRegex() {
        return regex != null;
    }

    /** The names of the list form (empty for the regex form). */
    public List<String> names() {
        return names == null ? List.of() : names;
    }

    /** The expression of the regex form ({@code null} for the list form). */
    public String regex() {
        return regex;
    }

    /** True for PEFT's {@code "all-linear"} shorthand, which has to be expanded with the model's layer names. */
    public boolean isAllLinear() {
        return regex != null && regex.toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
    }

    /** True if the list form names {@code modulePath} itself (not just a suffix of it). */
    boolean namesExactly(String modulePath) {
        return names != null && names.contains(modulePath);
    }

    /** PEFT's rule: regex full match, or a name equal to the path or to its last dotted segments. */
    public boolean matches(String modulePath) {
        if (pattern != null) {
            return pattern.matcher(modulePath).matches();
        }
        return names.contains(modulePath) || names.stream().anyMatch(name -> modulePath.endsWith("." + name));
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ModuleSelector that
                && java.util.Objects.equals(names, that.names) && java.util.Objects.equals(regex, that.regex);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(names, regex);
    }

    @Override
    public String toString() {
        return regex != null ? "regex " + regex : names.toString();
    }
}

package org.jtune.export;

import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.TokenizerException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An Ollama {@code Modelfile} for an exported GGUF file: {@code FROM} the file, a {@code TEMPLATE} in Ollama's Go
 * template syntax, and {@code PARAMETER stop} lines. The template is derived from the model's Jinja chat template by
 * rendering probe conversations and reading off what surrounds each message; this works for templates that write
 * every message as prefix + content + suffix by role (Llama 3, ChatML and the like). A template that is not of that
 * shape (e.g. Llama 2 and Mistral put the system message inside the first user turn) gets no system branch, or no
 * TEMPLATE at all, and the Modelfile says so in a comment. The BOS token a template writes first is left out:
 * llama.cpp adds it when the file says to.
 */
public final class OllamaModelfile {
    private static final String SYSTEM = "SYSTEMPROBEQ7";
    private static final String[] USERS = {"USERPROBEK3", "USERPROBEZ8"};
    private static final String[] ASSISTANTS = {"ASSISTANTPROBEW5", "ASSISTANTPROBEJ2"};

    /** What surrounds each role's content, and what the generation prompt adds. */
    record Turns(String head, String systemPrefix, String systemSuffix, String userPrefix, String userSuffix,
                 String assistantPrefix, String assistantSuffix, String generationPrompt, String laterUserBos) {
        boolean hasSystem() {
            return systemPrefix != null;
        }
    }

    private OllamaModelfile() {}

    /**
     * The Modelfile text.
     *
     * @param ggufFileName the exported file, which the Modelfile sits next to
     * @param template     the chat template, or null when the model has none
     * @param bosToken     the BOS token's text (null: none); dropped from the template's start when {@code addBos}
     * @param eosToken     the EOS token's text, always a stop (null: none)
     * @param specialTokens texts of the special tokens, which become stops where the turns end or begin
     */
    public static String of(String ggufFileName, ChatTemplate template, String bosToken, boolean addBos,
                            String eosToken, Set<String> specialTokens) {
        StringBuilder out = new StringBuilder();
        out.append("# Ollama: ollama create NAME -f Modelfile\n");
        out.append("FROM ./").append(ggufFileName).append('\n');
        Set<String> stops = new LinkedHashSet<>();
        if (eosToken != null) {
            stops.add(eosToken);
        }
        if (template == null) {
            out.append("# the model has no chat template: Ollama sends prompts as they are\n");
        } else {
            Turns turns = null;
            String why = null;
            try {
                turns = derive(template, addBos ? bosToken : null);
            } catch (TokenizerException | IllegalStateException e) {
                why = e.getMessage();
            }
            if (turns == null) {
                out.append("# no TEMPLATE: the chat template is not prefix + content + suffix per message (")
                        .append(why.replace('\n', ' ')).append(")\n");
            } else {
                if (!turns.hasSystem()) {
                    out.append("# system messages are left out: the chat template does not write them as a turn "
                            + "of their own\n");
                }
                out.append("TEMPLATE \"\"\"").append(goTemplate(turns)).append("\"\"\"\n");
                for (String special : specialTokens) {
                    if (turns.assistantSuffix().contains(special) || turns.userPrefix().contains(special)) {
                        stops.add(special);
                    }
                }
            }
        }
        for (String stop : stops) {
            if (stop.contains("\"") || stop.contains("\n")) {
                continue; // not writable as a quoted Modelfile string
            }
            out.append("PARAMETER stop \"").append(stop).append("\"\n");
        }
        return out.toString();
    }

    /** Reads the turn structure off renderings of probe conversations; throws when it is not uniform. */
    static Turns derive(ChatTemplate template, String droppedBos) {
        List<ChatMessage> four = List.of(ChatMessage.user(USERS[0]), ChatMessage.assistant(ASSISTANTS[0]),
                ChatMessage.user(USERS[1]), ChatMessage.assistant(ASSISTANTS[1]));
        String full = template.render(four, false);
        List<String> gaps = gaps(full, USERS[0], ASSISTANTS[0], USERS[1], ASSISTANTS[1]);
        String oneUser = template.render(List.of(ChatMessage.user(USERS[0])), false);
        String userSuffix = after(oneUser, USERS[0]);
        String assistantSuffix = gaps.get(4);
        String userPrefix = stripPrefix(gaps.get(2), assistantSuffix, "what follows an assistant message");
        String head = stripSuffix(gaps.get(0), userPrefix, "what precedes the first user message");
        String assistantPrefix = stripPrefix(gaps.get(1), userSuffix, "what follows a user message");
        require(gaps.get(3).equals(userSuffix + assistantPrefix), "the second user turn is written as the first");
        String withPrompt = template.render(List.of(ChatMessage.user(USERS[0])), true);
        String generationPrompt = stripPrefix(withPrompt, oneUser, "the generation prompt");
        String laterUserBos = "";
        if (droppedBos != null && head.startsWith(droppedBos)) {
            head = head.substring(droppedBos.length());
        } else if (droppedBos != null && head.isEmpty() && userPrefix.startsWith(droppedBos)) {
            // BOS opens every user turn (Llama 2): the first one's comes from llama.cpp, the later ones from here
            laterUserBos = droppedBos;
            userPrefix = userPrefix.substring(droppedBos.length());
        }
        String systemPrefix = null;
        String systemSuffix = null;
        try {
            String withSystem = template.render(List.of(ChatMessage.system(SYSTEM), ChatMessage.user(USERS[0]),
                    ChatMessage.assistant(ASSISTANTS[0])), false);
            String rest = laterUserBos + userPrefix + USERS[0] + userSuffix + assistantPrefix + ASSISTANTS[0] + assistantSuffix;
            String fullHead = droppedBos != null && withSystem.startsWith(droppedBos)
                    ? withSystem.substring(droppedBos.length()) : withSystem;
            if (laterUserBos.isEmpty() && fullHead.startsWith(head) && fullHead.endsWith(rest)) {
                String system = fullHead.substring(head.length(), fullHead.length() - rest.length());
                int at = system.indexOf(SYSTEM);
                if (at >= 0) {
                    systemPrefix = system.substring(0, at);
                    systemSuffix = system.substring(at + SYSTEM.length());
                }
            }
        } catch (TokenizerException e) {
            // the template refuses system messages: no system branch
        }
        return new Turns(head, systemPrefix, systemSuffix, userPrefix, userSuffix, assistantPrefix, assistantSuffix,
                generationPrompt, laterUserBos);
    }

    /** The Go template: one line, no whitespace trimming, so the literal text around the contents stays exact. */
    static String goTemplate(Turns t) {
        StringBuilder g = new StringBuilder();
        g.append(literal(t.head())).append(t.laterUserBos().isEmpty() ? "{{ range .Messages }}"
                : "{{ range $i, $_ := .Messages }}");
        String branch = "{{ if ";
        if (t.hasSystem()) {
            g.append(branch).append("eq .Role \"system\" }}").append(literal(t.systemPrefix())).append("{{ .Content }}")
                    .append(literal(t.systemSuffix()));
            branch = "{{ else if ";
        }
        g.append(branch).append("eq .Role \"user\" }}");
        if (!t.laterUserBos().isEmpty()) {
            g.append("{{ if $i }}").append(literal(t.laterUserBos())).append("{{ end }}");
        }
        g.append(literal(t.userPrefix())).append("{{ .Content }}")
                .append(literal(t.userSuffix()));
        g.append("{{ else if eq .Role \"assistant\" }}").append(literal(t.assistantPrefix())).append("{{ .Content }}")
                .append(literal(t.assistantSuffix()));
        g.append("{{ end }}{{ end }}").append(literal(t.generationPrompt()));
        return g.toString();
    }

    private static String literal(String text) {
        if (text.contains("{{") || text.contains("}}") || text.contains("\"\"\"")) {
            throw new IllegalStateException("the chat template writes text (" + text + ") that cannot stand "
                    + "literally in a Go template inside a Modelfile");
        }
        return text;
    }

    /** The text before, between and after the probes, which must appear once each, in order. */
    private static List<String> gaps(String text, String... probes) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (String probe : probes) {
            int at = text.indexOf(probe, from);
            require(at >= 0 && text.indexOf(probe, at + 1) < 0, "a message's content is not written once, as it is");
            out.add(text.substring(from, at));
            from = at + probe.length();
        }
        out.add(text.substring(from));
        return out;
    }

    private static String after(String text, String probe) {
        int at = text.indexOf(probe);
        require(at >= 0, "a message's content is not written as it is");
        return text.substring(at + probe.length());
    }

    private static String stripPrefix(String text, String prefix, String what) {
        require(text.startsWith(prefix), what + " does not start as expected");
        return text.substring(prefix.length());
    }

    private static String stripSuffix(String text, String suffix, String what) {
        require(text.endsWith(suffix), what + " does not end as expected");
        return text.substring(0, text.length() - suffix.length());
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalStateException(what);
        }
    }
}

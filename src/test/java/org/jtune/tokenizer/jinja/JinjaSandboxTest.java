package org.jtune.tokenizer.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Hostile templates, as a downloaded model folder may carry: each ends quickly in a
 * {@link JinjaException} with a message instead of exhausting memory, hanging, reading the jar's
 * resources or reaching Java methods.
 */
class JinjaSandboxTest {
    private static final Map<String, Object> VARS = Map.of("messages",
            List.of(Map.of("role", "user", "content", "hi")));

    private static JinjaException renderFails(String template, RenderBudget budget) {
        return assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(JinjaException.class,
                () -> JinjaTemplate.compile(template).render(VARS, budget)));
    }

    private static JinjaException renderFails(String template) {
        return renderFails(template, RenderBudget.DEFAULT);
    }

    @Test
    void doublingAStringStopsAtTheStringLimit() {
        // As in Jinja, 's' set inside the loop is the loop's own: the outer one stays 10 characters.
        assertEquals("10", JinjaTemplate.compile("{% set s = 'aaaaaaaaaa' %}{% for i in range(40) %}"
                + "{% set s = s ~ s %}{% endfor %}{{ s|length }}").render(VARS, RenderBudget.DEFAULT));
        JinjaException e = renderFails("{% set ns = namespace(s='aaaaaaaaaa') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
                + "{% endfor %}{{ ns.s|length }}");
        assertTrue(e.getMessage().contains("string longer than"), e.getMessage());
    }

    @Test
    void repetitionAndJoinsAreMeasuredBeforeTheyAreMade() {
        for (String t : List.of("{{ 'a' * 1000000000 }}", "{{ [1] * 1000000000 }}",
                "{{ range(100000)|join('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') }}")) {
            JinjaException e = renderFails(t, RenderBudget.DEFAULT.withMaxChars(1 << 20));
            assertTrue(e instanceof RenderBudgetExceededException, t + ": " + e);
        }
    }

    @Test
    void javaMethodsAreNotReachable() {
        for (String t : List.of("{{ 'a'.repeat(1000000000) }}", "{{ 'a'.getClass() }}",
                "{{ messages.getClass().forName('java.lang.Runtime') }}", "{{ ''.class.name }}",
                "{{ messages[0].getOrDefault('x', 1) }}", "{{ 'abc'.chars() }}", "{{ messages.size() }}")) {
            JinjaException e = renderFails(t);
            assertTrue(e.getMessage().contains("has no attribute") || e.getMessage().contains("is undefined"),
                    t + ": " + e.getMessage());
        }
        // A missing attribute alone is undefined and prints nothing, as in Jinja.
        assertEquals("", JinjaTemplate.compile("{{ ''.class }}{{ messages.class }}").render(VARS, RenderBudget.DEFAULT));
    }

    @Test
    void nestedLoopsStopAtTheStepLimit() {
        String three = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                + "{% endfor %}{% endfor %}{% endfor %}x";
        String four = "{% for d in range(1000) %}" + three + "{% endfor %}";
        // No wall-time limit here, so that only the step count can stop them, however loaded the machine.
        RenderBudget stepsOnly = RenderBudget.DEFAULT.withMaxTime(Duration.ofDays(1));
        for (String t : List.of(three, four)) {
            JinjaException e = renderFails(t, stepsOnly);
            assertTrue(e.getMessage().contains("steps"), e.getMessage());
        }
    }

    @Test
    void wallTimeIsLimited() {
        String slow = "{% for a in range(100000) %}{% for b in range(100000) %}{{ '' }}{% endfor %}{% endfor %}";
        RenderBudget budget = RenderBudget.DEFAULT.withMaxSteps(Long.MAX_VALUE).withMaxTime(Duration.ofMillis(200));
        JinjaException e = renderFails(slow, budget);
        assertTrue(e.getMessage().contains("longer than 200 ms"), e.getMessage());
    }

    @Test
    void outputIsLimited() {
        RenderBudget small = RenderBudget.DEFAULT.withMaxChars(1000);
        JinjaException e = renderFails("{% for i in range(1000) %}{{ 'abcdefgh' }}{% endfor %}", small);
        assertTrue(e.getMessage().contains("characters of output"), e.getMessage());
    }

    @Test
    void recursionIsLimited() {
        JinjaException e = renderFails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        assertTrue(e.getMessage().contains("macro calls nested"), e.getMessage());
        e = assertThrows(JinjaException.class, () -> JinjaTemplate.compile("{{ " + "(".repeat(10_000) + "1"
                + ")".repeat(10_000) + " }}"));
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
        e = assertThrows(JinjaException.class, () -> JinjaTemplate.compile("{% if 1 %}".repeat(5_000)));
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
        e = assertThrows(JinjaException.class, () -> JinjaTemplate.compile("{{ " + "not ".repeat(10_000) + "1 }}"));
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
    }

    @Test
    void includeAndImportAreRefusedAtCompileTime() {
        for (String t : List.of("{% include 'org/jtune/cli/Main.class' %}", "{% import 'x' as y %}",
                "{% from 'x' import y %}", "{% extends 'x' %}")) {
            JinjaException e = assertThrows(JinjaException.class, () -> JinjaTemplate.compile(t));
            assertTrue(e.getMessage().contains("not allowed in a chat template"), e.getMessage());
            assertEquals(1, e.line());
        }
    }

    @Test
    void mutationOfValuesIsRefused() {
        JinjaException e = renderFails("{% set x = messages.append(1) %}");
        assertTrue(e.getMessage().contains("may not modify"), e.getMessage());
        e = renderFails("{{ messages[0].update({'role': 'x'}) }}");
        assertTrue(e.getMessage().contains("may not modify"), e.getMessage());
    }

    @Test
    void hugeIntegersAreAnErrorNotAWrongNumber() {
        JinjaException e = renderFails("{{ 10 ** 100 }}");
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        e = renderFails("{{ 9223372036854775807 + 1 }}");
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }

    @Test
    void errorsNameTheirLine() {
        JinjaException e = renderFails("line one\n{% if true %}\n{{ nosuch.attr }}\n{% endif %}");
        assertEquals(3, e.line());
        assertTrue(e.describe().startsWith("line 3: "), e.describe());
    }
}

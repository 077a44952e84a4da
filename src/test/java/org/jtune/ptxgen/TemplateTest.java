package org.jtune.ptxgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TemplateTest {

    private static String render(String template, Map<String, ?> values) {
        return Template.parse("t.ptxt", template).render(values, name -> {
            throw new IllegalArgumentException("no include " + name);
        });
    }

    @Test
    void loopsAndSubstitutionsUnrollTheRepeatedLines() {
        String out = render("""
                $for mt in range(MT)
                $# the comment is not written
                    mov.f32 %acc${4 * mt}, 0f00000000;     // ${[mt, mt + 1]}
                $end
                    .reg .f32 %acc<${4 * MT}>;
                """, Map.of("MT", 3L));
        assertEquals("""
                    mov.f32 %acc0, 0f00000000;     // 0, 1
                    mov.f32 %acc4, 0f00000000;     // 1, 2
                    mov.f32 %acc8, 0f00000000;     // 2, 3
                    .reg .f32 %acc<12>;
                """, out);
    }

    @Test
    void conditionsChooseOneBranchAndLetStaysVisible() {
        String template = """
                $if LAYOUT == "ak"
                $let STEP = 32
                $elif LAYOUT == "am"
                $let STEP = 4096
                $else
                $let STEP = -1
                $end
                ${LAYOUT}: ${STEP}
                """;
        assertEquals("ak: 32\n", render(template, Map.of("LAYOUT", "ak")));
        assertEquals("am: 4096\n", render(template, Map.of("LAYOUT", "am")));
        assertEquals("x: -1\n", render(template, Map.of("LAYOUT", "x")));
    }

    @Test
    void macrosTakeArgumentsAndSeeTheCallersNames() {
        String out = render("""
                $macro load(reg, offset)
                    ld.shared.f32 ${reg}, [%base+${offset * SCALE}];
                $end
                $for i in range(2)
                $call load("%f" + i, i + 1)
                $end
                """, Map.of("SCALE", 4L));
        assertEquals("""
                    ld.shared.f32 %f0, [%base+4];
                    ld.shared.f32 %f1, [%base+8];
                """, out);
    }

    @Test
    void expressionsFollowCPrecedence() {
        Random random = new Random();
        for (int trial = 0; trial < 200; trial++) {
            long a = random.nextInt(1000) - 500;
            long b = random.nextInt(999) + 1;
            long c = random.nextInt(16);
            String out = render("${a + b * c - (a << 2) % b}|${a < b && b != c ? a ^ c | b & c : -a}|${~a >> 1}\n",
                    Map.of("a", a, "b", b, "c", c));
            long ternary = a < b && b != c ? (a ^ c) | (b & c) : -a;
            assertEquals((a + b * c - Math.floorMod(a << 2, b)) + "|" + ternary + "|" + (~a >> 1) + "\n", out);
        }
    }

    @Test
    void builtinsFormatRegisterListsAndAlignComments() {
        assertEquals("{%acc4, %acc5, %acc6, %acc7}\n", render("{${regs(\"%acc\", 4, 4)}}\n", Map.of()));
        assertEquals("%b0, %b2, %b4\n", render("${regs(\"%b\", 0, 3, 2)}\n", Map.of()));
        assertEquals("0 or 64\n", render("${join(range(0, 128, 64), \" or \")}\n", Map.of()));
        assertEquals("6 7\n", render("${log2(64)} ${log2(128)}\n", Map.of()));
        assertEquals("    shl %r, 6;      // x\n    shl %r, 1234567; // x\n",
                render("    shl %r, ${v};${col(20)}// x\n    shl %r, ${w};${col(20)}// x\n",
                        Map.of("v", 6L, "w", 1234567L)));
    }

    @Test
    void errorsNameTheTemplateLine() {
        TemplateException unknown = assertThrows(TemplateException.class, () -> render("a\nb ${MISSING}\n", Map.of()));
        assertTrue(unknown.getMessage().startsWith("t.ptxt:2: unknown name 'MISSING'"), unknown.getMessage());
        TemplateException notPowerOfTwo = assertThrows(TemplateException.class, () -> render("${log2(96)}\n", Map.of()));
        assertTrue(notPowerOfTwo.getMessage().contains("log2(96): not a power of two"), notPowerOfTwo.getMessage());
        TemplateException open = assertThrows(TemplateException.class, () -> render("x\n$for i in range(2)\ny\n", Map.of()));
        assertTrue(open.getMessage().startsWith("t.ptxt:2: block not closed"), open.getMessage());
        TemplateException stray = assertThrows(TemplateException.class, () -> render("$end\n", Map.of()));
        assertTrue(stray.getMessage().startsWith("t.ptxt:1: $end without"), stray.getMessage());
        TemplateException directive = assertThrows(TemplateException.class, () -> render("$loop i\n", Map.of()));
        assertTrue(directive.getMessage().contains("unknown directive"), directive.getMessage());
        TemplateException inMacro = assertThrows(TemplateException.class,
                () -> render("$macro m()\n${nothing}\n$end\n$call m()\n", Map.of()));
        assertTrue(inMacro.getMessage().contains("t.ptxt:2: unknown name 'nothing'")
                && inMacro.getMessage().contains("called at t.ptxt:4"), inMacro.getMessage());
    }
}

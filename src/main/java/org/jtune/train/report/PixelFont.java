package org.jtune.train.report;

import java.awt.Graphics2D;
import java.util.Map;

/**
 * A 5x7 bitmap font for the few characters the loss plot writes (digits, signs and the capitals of its labels), so
 * that drawing needs no system fonts: headless hosts and trimmed runtimes often have none.
 */
final class PixelFont {
    static final int WIDTH = 5, HEIGHT = 7, ADVANCE = 6;

    private static final Map<Character, String> GLYPHS = Map.ofEntries(
            Map.entry('0', "01110100011001110101110011000101110"),
            Map.entry('1', "00100011000010000100001000010001110"),
            Map.entry('2', "01110100010000100010001000100011111"),
            Map.entry('3', "11111000100010000010000011000101110"),
            Map.entry('4', "00010001100101010010111110001000010"),
            Map.entry('5', "11111100001111000001000011000101110"),
            Map.entry('6', "00110010001000011110100011000101110"),
            Map.entry('7', "11111000010001000100010000100001000"),
            Map.entry('8', "01110100011000101110100011000101110"),
            Map.entry('9', "01110100011000101111000010001001100"),
            Map.entry('.', "00000000000000000000000000110001100"),
            Map.entry('-', "00000000000000011111000000000000000"),
            Map.entry('+', "00000001000010011111001000010000000"),
            Map.entry(' ', "00000000000000000000000000000000000"),
            Map.entry('A', "01110100011000111111100011000110001"),
            Map.entry('E', "11111100001000011110100001000011111"),
            Map.entry('G', "01110100011000010111100011000101111"),
            Map.entry('I', "01110001000010000100001000010001110"),
            Map.entry('J', "00111000100001000010000101001001100"),
            Map.entry('L', "10000100001000010000100001000011111"),
            Map.entry('N', "10001110011010110011100011000110001"),
            Map.entry('O', "01110100011000110001100011000101110"),
            Map.entry('P', "11110100011000111110100001000010000"),
            Map.entry('R', "11110100011000111110101001001010001"),
            Map.entry('S', "01111100001000001110000010000111110"),
            Map.entry('T', "11111001000010000100001000010000100"),
            Map.entry('U', "10001100011000110001100011000101110"),
            Map.entry('V', "10001100011000110001100010101000100"));

    private PixelFont() {}

    /** Width in pixels of {@code text} drawn at {@code scale}. */
    static int width(String text, int scale) {
        return text.isEmpty() ? 0 : (text.length() * ADVANCE - 1) * scale;
    }

    /** Draws {@code text} with its top-left corner at (x, y), each font pixel a {@code scale}-sized square. */
    static void draw(Graphics2D g, String text, int x, int y, int scale) {
        for (int c = 0; c < text.length(); c++) {
            String glyph = GLYPHS.get(text.charAt(c));
            if (glyph == null) {
                throw new IllegalArgumentException("the plot font has no '" + text.charAt(c) + "' (in \"" + text + "\")");
            }
            for (int row = 0; row < HEIGHT; row++) {
                for (int col = 0; col < WIDTH; col++) {
                    if (glyph.charAt(row * WIDTH + col) == '1') {
                        g.fillRect(x + (c * ADVANCE + col) * scale, y + row * scale, scale, scale);
                    }
                }
            }
        }
    }
}

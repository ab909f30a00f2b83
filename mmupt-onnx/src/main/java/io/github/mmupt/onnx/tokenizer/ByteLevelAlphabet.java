package io.github.mmupt.onnx.tokenizer;

/**
 * GPT-2's byte-to-character alphabet, which byte-level BPE vocabularies are written in: every byte becomes one
 * printable character, so a vocabulary entry is a plain string. Bytes 33..126, 161..172 and 174..255 stand for
 * themselves; the other 68 (controls, space, 127..160, 173) map to U+0100 onward in increasing byte order, which
 * is why a space shows as {@code Ġ} (U+0120) and a newline as {@code Ċ} (U+010A) in {@code tokenizer.json}.
 */
final class ByteLevelAlphabet {

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character; -1 where a character stands for no byte. 0x100 + 68 covers every mapped char. */
    private static final int[] CHAR_TO_BYTE = new int[0x100 + 68];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean self = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            char c = self ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevelAlphabet() {}

    /** {@return the character standing for byte {@code b} (0..255)} */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** {@return the byte {@code c} stands for, or -1 when it stands for none} */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** {@return {@code utf8} written in the alphabet, one character per byte} */
    static String encode(byte[] utf8) {
        char[] chars = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            chars[i] = BYTE_TO_CHAR[utf8[i] & 0xff];
        }
        return new String(chars);
    }
}

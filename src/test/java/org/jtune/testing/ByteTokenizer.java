package org.jtune.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerConfig;

/**
 * A byte-level BPE tokenizer without merges: one token per UTF-8 byte (id = byte value), then {@code <s>} (256) and
 * {@code </s>} (257). Small enough for a tiny model to have its whole vocabulary, real enough to run text datasets.
 */
public final class ByteTokenizer {
    public static final int VOCAB = 258;

    private ByteTokenizer() {}

    public static Tokenizer create() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode model = root.putObject("model").put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        char[] chars = gpt2ByteChars();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(chars[b]), b);
        }
        model.putArray("merges");
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 256).put("content", "<s>").put("special", true);
        added.addObject().put("id", 257).put("content", "</s>").put("special", true);
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
        bos.putArray("ids").add(256);
        bos.putArray("tokens").add("<s>");
        root.putObject("decoder").put("type", "ByteLevel");
        return Tokenizer.fromJson(root, "byte-level test tokenizer",
                new TokenizerConfig("<s>", "</s>", null, null, null));
    }

    /** GPT-2's byte-to-character table: printable bytes stand for themselves, the others for 256, 257, ... */
    private static char[] gpt2ByteChars() {
        char[] chars = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars[b] = (char) (printable ? b : next++);
        }
        return chars;
    }
}

package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rebuilds the Llama 2 tokenizer.json from llama-tokenizer-js, which packs the real vocabulary
 * (one token per line, id = line number) and merges (pairs of little-endian uint16 ids) as base64
 * strings. The pipeline around them is the one of Llama 2's tokenizer.json: prepend "▁", spaces to
 * "▁", byte fallback, BOS added. src/test/python/make_tokenizer_goldens.py does the same.
 */
public final class Llama2FromJsPackage {
    private Llama2FromJsPackage() {
    }

    /** Writes tokenizer.json and tokenizer_config.json into a cache folder once, and returns the folder. */
    public static synchronized Path modelDir(Path packageDir) {
        Path out = NpmTestAssets.cacheDir().resolve("llama2-from-llama-tokenizer-js-1.2.2");
        Path json = out.resolve("tokenizer.json");
        try {
            if (!Files.exists(json)) {
                Files.createDirectories(out);
                String js = Files.readString(packageDir.resolve("llama-tokenizer.js"));
                ObjectMapper mapper = new ObjectMapper();
                Path tmp = out.resolve("tokenizer.json.tmp");
                mapper.writeValue(tmp.toFile(), tokenizerJson(mapper, js));
                Files.move(tmp, json, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                Files.writeString(out.resolve("tokenizer_config.json"),
                        "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}");
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String constant(String js, String name) {
        Matcher m = Pattern.compile("const " + name + " = \"([A-Za-z0-9+/=]*)\"").matcher(js);
        if (!m.find()) {
            throw new IllegalStateException("llama-tokenizer.js: constant " + name + " not found");
        }
        return m.group(1);
    }

    private static ObjectNode tokenizerJson(ObjectMapper mapper, String js) {
        String[] vocab = new String(Base64.getDecoder().decode(constant(js, "llama_vocab_base64")),
                StandardCharsets.UTF_8).split("\n", -1);
        if (vocab.length != 32000) {
            throw new IllegalStateException("llama-tokenizer.js: expected 32000 tokens, found " + vocab.length);
        }
        ByteBuffer merges = ByteBuffer.wrap(Base64.getDecoder().decode(constant(js, "llama_merges_binary")))
                .order(ByteOrder.LITTLE_ENDIAN);
        ObjectNode root = mapper.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int id = 0; id < specials.length; id++) {
            added.addObject().put("id", id).put("content", specials[id]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode steps = normalizer.putArray("normalizers");
        steps.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = steps.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode back = decoders.addObject().put("type", "Replace");
        back.putObject("pattern").put("String", "▁");
        back.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model").put("type", "BPE").putNull("dropout").put("unk_token", "<unk>")
                .putNull("continuing_subword_prefix").putNull("end_of_word_suffix")
                .put("fuse_unk", true).put("byte_fallback", true);
        ObjectNode vocabNode = model.putObject("vocab");
        for (int id = 0; id < vocab.length; id++) {
            vocabNode.put(vocab[id], id);
        }
        ArrayNode mergeList = model.putArray("merges");
        while (merges.remaining() >= 4) {
            int left = Short.toUnsignedInt(merges.getShort());
            int right = Short.toUnsignedInt(merges.getShort());
            mergeList.add(vocab[left] + " " + vocab[right]);
        }
        return root;
    }
}

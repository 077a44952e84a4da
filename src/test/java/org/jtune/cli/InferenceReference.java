package org.jtune.cli;

import org.jtune.api.FastLanguageModel;
import org.jtune.api.InferenceModel;
import org.jtune.api.PeftModel;
import org.jtune.api.Pretrained;
import org.jtune.generate.GenerationConfig;
import org.jtune.generate.GenerationDefaults;
import org.jtune.generate.GenerationResult;
import org.jtune.tokenizer.ChatMessage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What the commands should print, computed through the library API one request at a time: greedy answers of the
 * same model (and adapter) with the model's own end-of-sequence ids.
 */
final class InferenceReference implements AutoCloseable {
    private final Pretrained pretrained;
    private final PeftModel peft;
    private final InferenceModel model;
    private final GenerationConfig greedy;

    InferenceReference(Path modelDir, Path adapter) throws IOException {
        pretrained = FastLanguageModel.fromPretrained(modelDir, pretrainedContext(modelDir), false);
        peft = adapter == null ? null : PeftModel.fromAdapter(pretrained.model(), adapter);
        model = peft == null ? FastLanguageModel.forInference(pretrained.model(), pretrained.tokenizer(), 1)
                : FastLanguageModel.forInference(peft, pretrained.tokenizer(), 1);
        greedy = GenerationDefaults.read(modelDir, pretrained.model().config(), pretrained.tokenizer())
                .withDoSample(false);
    }

    private static int pretrainedContext(Path modelDir) throws IOException {
        return Math.min(org.jtune.model.ModelConfig.load(modelDir.resolve("config.json")).maxPositionEmbeddings(),
                InferenceSession.DEFAULT_CONTEXT);
    }

    GenerationResult chat(List<ChatMessage> messages, int maxNewTokens) {
        return model.chat(messages, greedy.withMaxNewTokens(maxNewTokens), null);
    }

    GenerationResult complete(String prompt, int maxNewTokens) {
        return model.generate(pretrained.tokenizer().encodeIds(prompt, true), greedy.withMaxNewTokens(maxNewTokens));
    }

    int[] chatPrompt(List<ChatMessage> messages) {
        return model.chatPrompt(messages);
    }

    @Override
    public void close() {
        model.close();
        if (peft != null) {
            peft.close();
        }
        pretrained.close();
    }
}

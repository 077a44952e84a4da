package org.jtune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/** {@link TrainingArguments} as JSON with transformers' key names, for {@code training_args.json} in checkpoints. */
final class TrainingArgumentsJson {
    private TrainingArgumentsJson() {}

    static ObjectNode toJson(TrainingArguments a) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("output_dir", a.outputDir() == null ? null : a.outputDir().toString());
        n.put("per_device_train_batch_size", a.perDeviceTrainBatchSize());
        n.put("gradient_accumulation_steps", a.gradientAccumulationSteps());
        n.put("num_train_epochs", a.numTrainEpochs());
        n.put("max_steps", a.maxSteps());
        n.put("learning_rate", a.learningRate());
        n.put("lr_scheduler_type", a.lrSchedulerType().hfName());
        n.put("warmup_steps", a.warmupSteps());
        n.put("warmup_ratio", a.warmupRatio());
        n.put("weight_decay", a.weightDecay());
        n.put("adam_beta1", a.adamBeta1());
        n.put("adam_beta2", a.adamBeta2());
        n.put("adam_epsilon", a.adamEpsilon());
        n.put("max_grad_norm", a.maxGradNorm());
        n.put("seed", a.seed());
        n.put("logging_steps", a.loggingSteps());
        n.put("eval_steps", a.evalSteps());
        n.put("save_steps", a.saveSteps());
        n.put("gradient_checkpointing", a.gradientCheckpointing());
        n.put("progress_bar", a.progressBar());
        return n;
    }

    static TrainingArguments fromJson(JsonNode n, String source) {
        for (String key : new String[] {"per_device_train_batch_size", "gradient_accumulation_steps",
                "num_train_epochs", "max_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "warmup_ratio",
                "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "seed", "logging_steps",
                "eval_steps", "save_steps", "gradient_checkpointing", "progress_bar"}) {
            if (!n.hasNonNull(key)) {
                throw new IllegalArgumentException(source + ": missing \"" + key + "\"");
            }
        }
        return TrainingArguments.builder()
                .outputDir(n.hasNonNull("output_dir") ? Path.of(n.get("output_dir").asText()) : null)
                .perDeviceTrainBatchSize(n.get("per_device_train_batch_size").asInt())
                .gradientAccumulationSteps(n.get("gradient_accumulation_steps").asInt())
                .numTrainEpochs(n.get("num_train_epochs").asInt())
                .maxSteps(n.get("max_steps").asLong())
                .learningRate(n.get("learning_rate").asDouble())
                .lrSchedulerType(n.get("lr_scheduler_type").asText())
                .warmupSteps(n.get("warmup_steps").asLong())
                .warmupRatio(n.get("warmup_ratio").asDouble())
                .weightDecay(n.get("weight_decay").asDouble())
                .adamBeta1(n.get("adam_beta1").asDouble())
                .adamBeta2(n.get("adam_beta2").asDouble())
                .adamEpsilon(n.get("adam_epsilon").asDouble())
                .maxGradNorm(n.get("max_grad_norm").asDouble())
                .seed(n.get("seed").asLong())
                .loggingSteps(n.get("logging_steps").asLong())
                .evalSteps(n.get("eval_steps").asLong())
                .saveSteps(n.get("save_steps").asLong())
                .gradientCheckpointing(n.get("gradient_checkpointing").asBoolean())
                .progressBar(n.get("progress_bar").asBoolean())
                .build();
    }
}

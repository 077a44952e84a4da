package org.jtune.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.jtune.cli.CliFixture.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Help texts, and the exit code 2 with a clear message for command lines that cannot be used. */
class MainTest {

    @Test
    void everyCommandHasHelp() {
        CliFixture.Result top = run("--help");
        assertEquals(0, top.exitCode());
        for (String command : List.of("sft", "merge", "info")) {
            assertTrue(top.out().contains("  " + command + " "), command + "\n" + top);
        }
        CliFixture.Result sft = run("sft", "--help");
        assertEquals(0, sft.exitCode(), sft.toString());
        for (String option : List.of("--model NAME", "--data FILE", "--format", "--chat-template",
                "--train-on-all-tokens", "--max-seq-length", "--packing, --no-packing", "--batch-size", "--grad-accum",
                "--epochs", "--max-steps", "--lr", "--scheduler", "--warmup-steps", "--warmup-ratio", "--weight-decay",
                "--max-grad-norm", "--seed", "--eval-split FRACTION", "--eval-steps", "--save-steps", "--output",
                "--resume", "--load-in-4bit", "--skip-bad-records", "--lora-r", "--lora-alpha", "--target-modules",
                "--rslora", "--config FILE", "--help")) {
            assertTrue(sft.out().contains(option), option + "\n" + sft);
        }
        CliFixture.Result merge = run("merge", "-h");
        assertEquals(0, merge.exitCode(), merge.toString());
        for (String option : List.of("--adapter DIR", "--output DIR", "--model NAME", "--dtype")) {
            assertTrue(merge.out().contains(option), option + "\n" + merge);
        }
        CliFixture.Result info = run("info", "--help");
        assertEquals(0, info.exitCode(), info.toString());
        assertTrue(info.out().contains("usage: java -jar jtune.jar info"), info.toString());
    }

    @Test
    void unusableCommandLinesExitWith2AndSayWhy() {
        List<List<String>> cases = List.of(
                List.of("sft", "--bogus"), List.of("unknown option --bogus"),
                List.of("sft", "--lora_rr", "4"), List.of("unknown option --lora-rr", "did you mean --lora-r?"),
                List.of("sft", "--learnig-rate", "4"), List.of("did you mean --learning-rate?"),
                List.of("sft", "--lr"), List.of("--lr needs a value"),
                List.of("sft", "--lr", "fast"), List.of("--lr: expected a number, got 'fast'"),
                List.of("sft", "--epochs", "1.5"), List.of("--epochs: expected a whole number"),
                List.of("sft", "--batch-size", "0"), List.of("--batch-size must be a positive whole number"),
                List.of("sft", "--eval-split", "1.5"), List.of("--eval-split must be a fraction"),
                List.of("sft", "--scheduler", "exotic"), List.of("lr_scheduler_type \"exotic\" is not supported"),
                List.of("sft", "--format", "csv"), List.of("unknown format 'csv'"),
                List.of("sft", "--chat-template", "gpt"), List.of("unknown chat template 'gpt'"),
                List.of("sft", "--target-modules", "q_proj,lm_head"), List.of("unknown LoRA target module \"lm_head\""),
                List.of("sft", "--warmup-steps", "3", "--warmup-ratio", "0.1"), List.of("not both"),
                List.of("sft", "--packing=maybe"), List.of("--packing is true or false, got 'maybe'"),
                List.of("sft", "--no-packing=1"), List.of("--no-packing takes no value"),
                List.of("sft", "--optim", "sgd"), List.of("--optim sgd: jtune trains with AdamW"),
                List.of("sft", "--lora_dropout", "0.05"), List.of("--lora_dropout 0.05: only 0 is supported"),
                List.of("sft", "--model", "somewhere"), List.of("--data FILE is required with --model"),
                List.of("sft", "--data", "x.jsonl"), List.of("--data needs --model"),
                List.of("sft", "stray"), List.of("unexpected argument 'stray'"),
                List.of("sft", "--config", "/nonexistent/run.json"), List.of("config file not found"),
                List.of("merge", "--output", "x"), List.of("--adapter DIR and --output DIR are required"),
                List.of("merge", "--adapter", "a", "--output", "b", "--dtype", "int8"), List.of("unknown dtype 'int8'"),
                List.of("info", "--verbose"), List.of("unknown option --verbose"),
                List.of("train"), List.of("unknown command 'train'"));
        for (int i = 0; i < cases.size(); i += 2) {
            CliFixture.Result r = run(cases.get(i).toArray(String[]::new));
            assertEquals(2, r.exitCode(), cases.get(i) + "\n" + r);
            for (String expected : cases.get(i + 1)) {
                assertTrue(r.err().contains(expected), cases.get(i) + ": expected '" + expected + "'\n" + r);
            }
            assertFalse(r.err().contains("\tat "), "no stack trace\n" + r);
        }
    }

    @Test
    void runtimeErrorsExitWith1WithoutAStackTrace() {
        CliFixture.Result r = run("sft", "--model", "/nonexistent/model", "--data", "d.jsonl");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("/nonexistent/model") && r.err().contains("JTUNE_STACKTRACE=1"), r.toString());
        assertFalse(r.err().contains("\tat "), r.toString());
    }
}

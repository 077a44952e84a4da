package org.jtune.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.jtune.cli.OptionParser.Kind.FLAG;
import static org.jtune.cli.OptionParser.Kind.VALUE;

/**
 * Options of TRL / transformers / PEFT scripts that say nothing jtune needs to be told, accepted so that a
 * command line or config written for those tools runs: {@code bf16} and {@code tf32} (the GPU step computes in
 * bf16 with fp32 accumulation, the CPU in fp32, whatever they say), {@code use_peft} (always LoRA),
 * {@code lora_dropout} 0 and {@code optim} of an AdamW kind (the one optimizer). A value that asks for something
 * else is refused with what jtune does instead.
 */
final class TrlCompatibility {
    static final List<String> NAMES = List.of("bf16", "tf32", "use-peft", "lora-dropout", "optim");

    private TrlCompatibility() {}

    /** The command's options followed by these. */
    static List<OptionParser.Option> after(List<OptionParser.Option> own) {
        List<OptionParser.Option> all = new ArrayList<>(own);
        all.add(new OptionParser.Option("bf16", FLAG, null, false,
                "accepted for TRL scripts; the GPU step always computes in bf16 (the CPU in fp32)"));
        all.add(new OptionParser.Option("tf32", FLAG, null, false, "accepted for TRL scripts; no effect"));
        all.add(new OptionParser.Option("use-peft", FLAG, null, false,
                "accepted for TRL scripts; jtune always trains LoRA adapters"));
        all.add(new OptionParser.Option("lora-dropout", VALUE, "X", false,
                "accepted for TRL scripts: 0 only (dropout on the LoRA input is not implemented)"));
        all.add(new OptionParser.Option("optim", VALUE, "NAME", false,
                "accepted for TRL scripts: adamw_torch, adamw_torch_fused or adamw_hf (jtune's AdamW)"));
        return List.copyOf(all);
    }

    /** Refuses the values of these options that ask for what jtune does not do. */
    static void check(OptionParser.Parsed p) {
        if (p.has("use-peft") && !p.flag("use-peft", true)) {
            throw new UsageException(p.origin("use-peft") + " false: jtune trains LoRA adapters only, not all weights");
        }
        if (p.has("lora-dropout") && p.decimal("lora-dropout", 0) != 0) {
            throw new UsageException(p.origin("lora-dropout") + " " + p.string("lora-dropout", "")
                    + ": only 0 is supported (dropout on the LoRA input is not implemented)");
        }
        String optim = p.string("optim", "adamw_torch").toLowerCase(Locale.ROOT).replace('-', '_');
        if (!List.of("adamw_torch", "adamw_torch_fused", "adamw_hf").contains(optim)) {
            throw new UsageException(p.origin("optim") + " " + p.string("optim", "") + ": jtune trains with AdamW "
                    + "in fp32 (adamw_torch); other optimizers are not implemented");
        }
    }
}

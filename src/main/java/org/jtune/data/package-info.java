/**
 * Training data: reading JSON Lines / JSON array files (plain, gzip, xz, bzip2; detected by content),
 * turning records into token ids with loss targets, truncation, packing and batching.
 * <p>
 * Conventions, following Hugging Face TRL (1.x):
 * <ul>
 * <li>Plain-string records are tokenized with the tokenizer's post-processor tokens (BOS for Llama and
 *     Mistral) and EOS is appended after the text or completion, unless it already ends with EOS.
 *     Chat-template records are tokenized without added tokens (the template writes BOS and end-of-turn
 *     tokens) and get no extra EOS.</li>
 * <li>The loss is on completions and assistant turns only, unless {@link org.jtune.data.SftOptions#trainOnAllTokens()};
 *     text records train on every token.</li>
 * <li>Labels are aligned with the input ids (not shifted) and are -100 where no loss is computed; the
 *     first token of every example is -100, so in a packed row no prediction crosses a document.</li>
 * <li>Truncation keeps the start ({@code keep_start}, TRL's default): SFT examples are cut to the
 *     maximum length; for preference pairs prompt+chosen and prompt+rejected are each cut, and a pair
 *     whose prompt alone fills the maximum length is dropped. Records are streamed; the tokenized
 *     dataset is held in memory in compact arrays.</li>
 * </ul>
 */
package org.jtune.data;

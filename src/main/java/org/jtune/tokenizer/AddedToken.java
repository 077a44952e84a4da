package org.jtune.tokenizer;

/**
 * A token of tokenizer.json's "added_tokens": found in the text before the model runs, as Hugging
 * Face does. lstrip/rstrip make the match swallow whitespace on that side; single_word keeps it from
 * matching inside a word.
 */
record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {
}

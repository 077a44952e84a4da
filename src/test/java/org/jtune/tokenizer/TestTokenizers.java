package org.jtune.tokenizer;

/** The real tokenizers the tests use, loaded once from the npm-fetched packages. */
public final class TestTokenizers {
    private static Tokenizer mistral;
    private static Tokenizer llama2;
    private static Tokenizer llama3;
    private static Tokenizer qwen3;
    private static Tokenizer gemma3;

    private TestTokenizers() {
    }

    public static synchronized Tokenizer mistral() {
        if (mistral == null) {
            mistral = Tokenizer.fromDirectory(NpmTestAssets.fetch(NpmTestAssets.MISTRAL).resolve("models"));
        }
        return mistral;
    }

    public static synchronized Tokenizer llama2() {
        if (llama2 == null) {
            llama2 = Tokenizer.fromDirectory(Llama2FromJsPackage.modelDir(NpmTestAssets.fetch(NpmTestAssets.LLAMA2_JS)));
        }
        return llama2;
    }

    public static synchronized Tokenizer llama3() {
        if (llama3 == null) {
            llama3 = Tokenizer.fromDirectory(NpmTestAssets.fetch(NpmTestAssets.LLAMA3).resolve("models"));
        }
        return llama3;
    }

    public static synchronized Tokenizer qwen3() {
        if (qwen3 == null) {
            qwen3 = Tokenizer.fromDirectory(NpmTestAssets.fetch(NpmTestAssets.QWEN3).resolve("models"));
        }
        return qwen3;
    }

    public static synchronized Tokenizer gemma3() {
        if (gemma3 == null) {
            gemma3 = Tokenizer.fromDirectory(NpmTestAssets.fetch(NpmTestAssets.GEMMA3).resolve("models"));
        }
        return gemma3;
    }
}

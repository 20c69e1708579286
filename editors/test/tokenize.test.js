#!/usr/bin/env node
// Checks the editor support in editors/:
//
//  1. The TextMate grammar (editors/vscode/syntaxes/mailpolicy.tmLanguage.json), run by
//     the same engine as VS Code (vscode-textmate + vscode-oniguruma's wasm), tokenises
//     every line of every examples/**/*.mp and of every ```mp block of docs/*.md:
//     no line throws or stops early, a file ends in the state it started in, every
//     non-blank character gets a scope, no valid policy gets an `invalid.` scope.
//  2. Those same lines agree with the real lexer: a small copy of the token rules of
//     lang/Policy.g4 (longest match, first rule on a tie) cuts them into tokens, and
//     each token must carry the scope of its class (a STRING token is
//     string.quoted.double, an ADDRESS markup.underline.link, ...). Comment, string and
//     regex scopes must not leak outside their tokens (a `#` in a string is not a
//     comment, a CIDR /24 is not a regex).
//  3. Named expectations on lines written out here (the seed rule, regexes, IPs, sizes,
//     stage and rule names, escapes, ...), and the ```mp Markdown injection.
//  4. editors/vim: when `vim` is on PATH, the syntax file loads without error and
//     editors/test/vim_probe.vim finds the expected highlight groups.
//
// Plain node, no test framework. Prints one line per failure and a summary line
// "editors test summary: ... PASS|FAIL"; exits 1 on any failure.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const ROOT = path.resolve(__dirname, '..', '..');
const SYNTAXES = path.join(ROOT, 'editors', 'vscode', 'syntaxes');
const GRAMMARS = {
  'source.mailpolicy': path.join(SYNTAXES, 'mailpolicy.tmLanguage.json'),
  'markdown.mailpolicy.codeblock': path.join(SYNTAXES, 'mailpolicy.markdown.tmLanguage.json'),
};
const ROOT_SCOPE = 'source.mailpolicy';

const failures = [];
let checks = 0;

function fail(where, message) {
  failures.push(`${where}: ${message}`);
}

function rel(file) {
  return path.relative(ROOT, file);
}

// ---- Loading the grammar -----------------------------------------------------------

async function loadRegistry() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm);
  const onigLib = Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  });
  return new vsctm.Registry({
    onigLib,
    loadGrammar: async (scopeName) => {
      if (scopeName === 'text.html.markdown') {
        // A stand-in for VS Code's Markdown grammar: only the injection is under test.
        return vsctm.parseRawGrammar(JSON.stringify({ scopeName, patterns: [] }), 'markdown.json');
      }
      const file = GRAMMARS[scopeName];
      if (!file) return null;
      return vsctm.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
    getInjections: (scopeName) =>
      scopeName === 'text.html.markdown' ? ['markdown.mailpolicy.codeblock'] : undefined,
  });
}

// Tokenises `text` line by line. Returns the lines, each with its tokens and, per
// character, the list of scopes; `where` names the source in failure messages. Checks
// that no line throws or stops early, that tokens cover each line, and that the text
// ends in the state it started in.
function tokenize(grammar, text, where) {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let state = vsctm.INITIAL;
  const out = [];
  lines.forEach((line, i) => {
    const at = `${where}:${i + 1}`;
    let result;
    try {
      result = grammar.tokenizeLine(line, state, 5000);
    } catch (e) {
      fail(at, `tokenizeLine threw: ${e && e.stack ? e.stack : e}`);
      out.push({ text: line, tokens: [], scopesAt: line.split('').map(() => [ROOT_SCOPE]) });
      return;
    }
    checks++;
    if (result.stoppedEarly) fail(at, 'tokenisation stopped early (time limit)');
    const tokens = result.tokens.map((t, k) => ({
      start: t.startIndex,
      end: k + 1 < result.tokens.length ? result.tokens[k + 1].startIndex : line.length,
      scopes: t.scopes,
    }));
    let expected = 0;
    for (const t of tokens) {
      if (t.start !== expected) fail(at, `tokens do not cover the line at column ${expected + 1}`);
      expected = Math.max(expected, t.end);
    }
    if (line.length > 0 && expected < line.length) fail(at, 'tokens stop before the end of the line');
    const scopesAt = new Array(line.length);
    for (const t of tokens) for (let c = t.start; c < t.end && c < line.length; c++) scopesAt[c] = t.scopes;
    for (let c = 0; c < line.length; c++) if (!scopesAt[c]) scopesAt[c] = [ROOT_SCOPE];
    out.push({ text: line, tokens, scopesAt });
    state = result.ruleStack;
  });
  checks++;
  if (state.depth !== vsctm.INITIAL.depth) {
    fail(where, `ends inside a construct (rule stack depth ${state.depth}): e.g. a "matches" with no regex after it`);
  }
  return out;
}

function hasScope(scopes, prefix) {
  return scopes.some((s) => s === prefix || s.startsWith(prefix + '.'));
}

function show(scopes) {
  return scopes.filter((s) => s !== ROOT_SCOPE).join(' ') || '(no scope)';
}

// ---- A copy of the lexer of lang/Policy.g4 -------------------------------------------

const KEYWORDS = [
  'import',     'const',   'list',     'def',      'settings',  'stage',   'rule',    'if',
  'then',       'file',    'inbound',  'outbound', 'internal',  'not',     'and',     'or',
  'is',         'in',      'contains', 'starts',   'ends',      'with',    'matches', 'nocase',
  'any',        'all',     'count',    'header',   'true',      'false',   'allow',   'reject',
  'quarantine', 'discard', 'tempfail', 'score',    'tag',       'banner',  'add',     'remove',
  'log',        'option',  'disable',  'rescore',  'resembles', 'rewrite', 'except',
];
// Implicit tokens of the parser rules come first in ANTLR, then the lexer rules in order.
const LITERALS = ['=', '(', ')', '{', '}', ':', ',', '<', '<=', '>', '>=', '==', '!=', '[', ']', '.'];
const RULES = [
  ...LITERALS.map((l) => ({ type: l, re: new RegExp(l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'y') })),
  ...KEYWORDS.map((k) => ({ type: k, re: new RegExp(k, 'y') })),
  { type: 'PLUS', re: /\+/y },
  { type: 'MINUS', re: /-/y },
  { type: 'STRING', re: /"(?:[^"\\\r\n]|\\[\s\S])*"/y },
  { type: 'REGEX', re: /\/(?:[^/\\\r\n]|\\[\s\S])+\/[a-z]*/y },
  { type: 'ADDRESS', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)*/y },
  { type: 'IPV6', re: /[0-9a-fA-F]*:(?:[0-9a-fA-F]*:)+(?:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[0-9a-fA-F]+)?(?:\/[0-9]+)?/y },
  { type: 'IPV4', re: /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?:\/[0-9]+)?/y },
  { type: 'SIZE', re: /[0-9]+(?:\.[0-9]+)?(?:KB|MB|GB|kB|K|M|G|B)/y },
  { type: 'NUMBER', re: /[0-9]+(?:\.[0-9]+)?/y },
  { type: 'IDENT', re: /[A-Za-z_0-9][A-Za-z_0-9-]*/y },
  { type: 'COMMENT', re: /#[^\r\n]*/y },
  { type: 'WS', re: /[ \t\r\n]+/y },
  { type: 'ERRCHAR', re: /[\s\S]/y },
];
const KEYWORD_SET = new Set(KEYWORDS);

// Tokens with their line (0-based) and column; WS is dropped.
function lex(text) {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const tokens = [];
  let pos = 0;
  while (pos < text.length) {
    let best = null;
    for (const rule of RULES) {
      rule.re.lastIndex = pos;
      const m = rule.re.exec(text);
      if (m && m[0].length > 0 && (!best || m[0].length > best.text.length)) best = { type: rule.type, text: m[0] };
    }
    if (best.type !== 'WS') {
      const line = lineOf(pos);
      tokens.push({ type: best.type, text: best.text, line, col: pos - lineStarts[line] });
    }
    pos += best.text.length;
  }
  return tokens;
}

const CONTROL = new Set(['if', 'then', 'stage', 'rule', 'def', 'const', 'list', 'settings', 'import']);
const OPERATOR_WORDS = new Set([
  'and', 'or', 'not', 'is', 'in', 'contains', 'starts', 'ends', 'with', 'matches', 'resembles', 'nocase',
  'any', 'all', 'count', 'except'
]);
const ACTIONS = new Set([
  'allow', 'reject', 'quarantine', 'discard', 'tempfail', 'score', 'tag', 'banner', 'add', 'remove', 'log',
  'rewrite'
]);
const DIRECTIONS = new Set(['inbound', 'outbound', 'internal']);
const TEST_OPERATORS = new Set(['is', 'in', 'contains', 'starts', 'ends', 'matches', 'resembles']);
const RELATIONAL = new Set(['<', '<=', '>', '>=', '==', '!=']);
const WORD_TYPES = new Set(['IDENT', 'NUMBER', ...KEYWORDS]);

// The scope each lexer token (or dotted path) must have, by the grammar's intent.
// Returns a list of { line, start, end, scope, what } to check, plus the spans that may
// carry comment / string / regex scopes.
function expectationsFromLexer(text) {
  const all = lex(text);
  const tokens = all.filter((t) => t.type !== 'COMMENT');
  const out = [];
  const allowed = { comment: [], string: [], regexp: [] };
  const span = (t, end) => ({ line: t.line, start: t.col, end: end === undefined ? t.col + t.text.length : end });
  const want = (t, scope, what, end) => out.push({ ...span(t, end), scope, what: what || t.text });

  for (const t of all) {
    if (t.type === 'COMMENT') {
      want(t, 'comment.line.number-sign', 'comment');
      allowed.comment.push(span(t));
    }
  }

  // Dotted paths: word ('.' word)+ without blanks. Their words are not keywords.
  const inPath = new Array(tokens.length).fill(false);
  const paths = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!WORD_TYPES.has(tokens[i].type) || inPath[i]) continue;
    let j = i;
    while (
      j + 2 < tokens.length &&
      tokens[j + 1].type === '.' && WORD_TYPES.has(tokens[j + 2].type) &&
      tokens[j + 1].line === tokens[j].line && tokens[j + 1].col === tokens[j].col + tokens[j].text.length &&
      tokens[j + 2].line === tokens[j].line && tokens[j + 2].col === tokens[j + 1].col + 1
    ) j += 2;
    if (j > i) {
      for (let k = i; k <= j; k++) inPath[k] = true;
      paths.push({ first: i, last: j });
    }
  }

  // The next token on the same line starts a test operator: `x is`, `x not in`, `x >`.
  const beforeOperator = (k) => {
    const line = tokens[k].line;
    let n = k + 1;
    if (n < tokens.length && tokens[n].line === line && tokens[n].type === 'not') n++;
    if (n >= tokens.length || tokens[n].line !== line) return false;
    return TEST_OPERATORS.has(tokens[n].type) || (n === k + 1 && RELATIONAL.has(tokens[n].type));
  };
  const beforeAssign = (k) => k + 1 < tokens.length && tokens[k + 1].line === tokens[k].line && tokens[k + 1].type === '=';

  for (const p of paths) {
    const first = tokens[p.first];
    const last = tokens[p.last];
    const end = last.col + last.text.length;
    const text = tokensText(tokens, p.first, p.last);
    if (beforeAssign(p.last)) want(first, 'variable.other.property.setting', `setting key ${text}`, end);
    else if (beforeOperator(p.last)) want(first, 'variable.other.field', `field ${text}`, end);
    else want(first, 'constant.other.domain', `dotted value ${text}`, end);
  }

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = i > 0 ? tokens[i - 1] : null;
    const prev2 = i > 1 ? tokens[i - 2] : null;
    if (inPath[i]) continue;
    switch (t.type) {
      case 'STRING':
        want(t, 'string.quoted.double', `string ${t.text}`);
        allowed.string.push(span(t));
        for (const m of t.text.matchAll(/\\./g)) {
          out.push({ line: t.line, start: t.col + m.index, end: t.col + m.index + 2, scope: 'constant.character.escape', what: `escape ${m[0]} in ${t.text}` });
        }
        break;
      case 'REGEX':
        if (prev && prev.type === 'matches') {
          want(t, 'string.regexp', `regex ${t.text}`);
          allowed.regexp.push(span(t));
        }
        break;
      case 'ADDRESS':
        want(t, 'markup.underline.link', `address ${t.text}`);
        want(t, 'constant.other.email', `address ${t.text}`);
        break;
      case 'IPV4':
      case 'IPV6':
        want(t, 'constant.other.ip', `IP ${t.text}`);
        break;
      case 'SIZE':
        want(t, 'constant.numeric.size', `size ${t.text}`);
        break;
      case 'NUMBER':
        want(t, 'constant.numeric', `number ${t.text}`);
        if (prev && (prev.type === 'PLUS' || prev.type === 'MINUS') && prev.line === t.line && prev.col + 1 === t.col) {
          want(prev, 'constant.numeric', `sign of ${prev.text}${t.text}`);
        }
        break;
      case 'IDENT':
        if (prev && prev.type === 'stage') want(t, 'entity.name.section', `stage name ${t.text}`);
        else if (prev && prev.type === 'rule') want(t, 'entity.name.function', `rule name ${t.text}`);
        else if (prev && prev.type === 'def') want(t, 'entity.name.function', `def name ${t.text}`);
        else if (prev && (prev.type === 'const' || prev.type === 'list')) want(t, 'variable.other.constant', `${prev.type} name ${t.text}`);
        else if (prev && prev.type === 'import') want(t, 'entity.name.namespace', `module ${t.text}`);
        else if (prev && prev.type === 'header' && prev2 && (prev2.type === 'add' || prev2.type === 'remove')) want(t, 'entity.name.tag.header', `header name ${t.text}`);
        else if (prev && (prev.type === 'any' || prev.type === 'all')) want(t, 'variable.other.field.collection', `collection ${t.text}`);
        else if (prev && prev.type === '(' && prev2 && prev2.type === 'count') want(t, 'variable.other.field.collection', `collection ${t.text}`);
        else if (beforeOperator(i)) want(t, 'variable.other.field', `field ${t.text}`);
        else if (i + 1 < tokens.length && tokens[i + 1].type === '(' && tokens[i + 1].line === t.line) want(t, 'support.function', `call ${t.text}`);
        else want(t, 'variable.other.readwrite', `name ${t.text}`);
        break;
      case 'ERRCHAR':
        break;
      default:
        if (KEYWORD_SET.has(t.type)) {
          if (CONTROL.has(t.type)) want(t, 'keyword.control', `keyword ${t.text}`);
          else if (OPERATOR_WORDS.has(t.type)) want(t, 'keyword.operator.word', `operator ${t.text}`);
          else if (ACTIONS.has(t.type)) want(t, 'keyword.other.action', `action ${t.text}`);
          else if (DIRECTIONS.has(t.type)) want(t, 'storage.modifier', `direction ${t.text}`);
          else if (t.type === 'true' || t.type === 'false') want(t, 'constant.language.boolean', t.text);
          else if (t.type === 'file') want(t, 'support.function.builtin', t.text);
          else if (t.type === 'header') {
            if (prev && (prev.type === 'add' || prev.type === 'remove')) want(t, 'keyword.other.action', `action ${prev.text} ${t.text}`);
            else want(t, 'keyword.other.header', `operand ${t.text}`);
          }
        } else if (RELATIONAL.has(t.type)) want(t, 'keyword.operator.comparison', t.text);
        else if (t.type === '=') want(t, 'keyword.operator.assignment', t.text);
        else if (LITERALS.includes(t.type)) want(t, 'punctuation', t.text);
    }
  }
  return { out, allowed, errchars: all.filter((t) => t.type === 'ERRCHAR') };
}

function tokensText(tokens, first, last) {
  let s = '';
  for (let k = first; k <= last; k++) s += tokens[k].text;
  return s;
}

function inSpans(spans, line, col) {
  return spans.some((s) => s.line === line && col >= s.start && col < s.end);
}

// Every check of the "real lexer" kind on one text (a file, or a docs block).
function checkText(grammar, text, where, { strict }) {
  const lines = tokenize(grammar, text, where);
  if (!strict) return lines.length;
  const at = (line) => `${where}:${line + 1}`;
  lines.forEach((l, i) => {
    for (let c = 0; c < l.text.length; c++) {
      if (/\s/.test(l.text[c])) continue;
      if (l.scopesAt[c].length < 2) {
        fail(at(i), `column ${c + 1} ('${l.text[c]}') has no scope: ${l.text}`);
        break;
      }
    }
    for (let c = 0; c < l.text.length; c++) {
      const bad = l.scopesAt[c].find((s) => s.startsWith('invalid.'));
      if (bad) {
        fail(at(i), `column ${c + 1} is ${bad}: ${l.text}`);
        break;
      }
    }
  });
  const { out, allowed, errchars } = expectationsFromLexer(text);
  for (const e of errchars) fail(at(e.line), `the lexer refuses '${e.text}' at column ${e.col + 1} (not a valid policy?)`);
  for (const e of out) {
    checks++;
    const l = lines[e.line];
    for (let c = e.start; c < e.end; c++) {
      if (!hasScope(l.scopesAt[c], e.scope)) {
        fail(at(e.line), `${e.what}: column ${c + 1} is "${show(l.scopesAt[c])}", expected ${e.scope}`);
        break;
      }
    }
  }
  // Comment, string and regex scopes stay inside their tokens.
  const leaks = [
    ['comment.line', allowed.comment],
    ['string.quoted', allowed.string],
    ['string.regexp', allowed.regexp],
  ];
  lines.forEach((l, i) => {
    for (const [scope, spans] of leaks) {
      checks++;
      for (let c = 0; c < l.text.length; c++) {
        if (hasScope(l.scopesAt[c], scope) && !inSpans(spans, i, c)) {
          fail(at(i), `${scope} leaks to column ${c + 1} ('${l.text[c]}'): ${l.text}`);
          break;
        }
      }
    }
  });
  return lines.length;
}

// ---- Sources: the examples and the docs ------------------------------------------

function findFiles(dir, suffix) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findFiles(p, suffix));
    else if (entry.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

// Fenced blocks of a Markdown file tagged `mp` (and `mp-error`, only checked for
// crashes: they show mistakes).
function docBlocks(file) {
  const blocks = [];
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  let open = null;
  let otherFence = false;
  lines.forEach((line, i) => {
    const t = line.trim();
    if (open) {
      if (t === '```') {
        blocks.push(open);
        open = null;
      } else open.text += line + '\n';
      return;
    }
    if (otherFence) {
      if (t === '```') otherFence = false;
      return;
    }
    if (t === '```mp' || t === '```mp-error') open = { line: i + 1, error: t === '```mp-error', text: '' };
    else if (t.startsWith('```')) otherFence = true;
  });
  if (open) fail(`${rel(file)}:${open.line}`, 'unterminated ```mp block');
  return blocks;
}

// ---- Named expectations --------------------------------------------------------------

// A snippet from the example and the docs, tokenised as one text, and what some of its
// pieces must be. `text` is found on `line` (1-based), its `nth` occurrence (or the
// `last`); `exact` (the default) also checks that the run of characters carrying the
// scope around it is exactly `text` (no more, no less); `not` checks that no character
// carries the scope.
const SNIPPET = [
  /* 1 */ 'if header contains "ccsend.constantcontact.com" and sender is info@widget.com then allow  # lint: allow(L006)',
  /* 2 */ '# The seed\'s own sentence, as written: a bare rule lands in custom_filters.',
  /* 3 */ 'settings {',
  /* 4 */ '  org.domains = [widget.com, widget.ca]',
  /* 5 */ '  org.sending_servers = [203.0.113.10, 198.51.100.0/24, 2001:db8:1::/48, ::1]  # our own servers',
  /* 6 */ '  spam.threshold.reject = 15.0',
  /* 7 */ '}',
  /* 8 */ 'stage spam_engine {',
  /* 9 */ '  rule urgent_wire:',
  /* 10 */ '    if subject matches /urgent|wire transfer|immediate payment/i',
  /* 11 */ '    then score +3.0 "payment urgency wording"',
  /* 12 */ '  rule big_external (inbound, outbound):',
  /* 13 */ '    if size > 20MB then score -1.5 "very large message"',
  /* 14 */ '  rule external_tag (internal):',
  /* 15 */ '    if not from.domain in our_domains then tag "[External]", add header X-Widget-External "yes"',
  /* 16 */ '}',
  /* 17 */ 'if subject contains "# not a comment, \\"quoted\\"\\t" then log "tab\\there"',
  /* 18 */ 'if subject matches /^\\[(ext|external)\\]\\/#x/i then remove header X-Widget-External',
  /* 19 */ 'if any attachment (extension in [exe, scr] and size > 100KB) then reject "550 5.7.1 No"',
  /* 20 */ 'if count(attachments (content_type is "application/pdf")) >= 5 then quarantine',
  /* 21 */ 'const big = 1.5MB  # 10mb is a name, not a size',
  /* 22 */ 'list execs = file("execs.txt")',
  /* 23 */ 'def from_office365 = header "Received" contains "prod.outlook.com"',
  /* 24 */ 'if from_office365 and 10mb is true then discard, tempfail "451 4.7.1 later"',
  /* 25 */ 'if client.ip in [10.0.0.0/8] and first.last+tag@mail.widget.com is x then allow',
  /* 26 */ 'if subject contains "bad \\q escape" then allow',
  /* 27 */ 'import stdlib',
  /* 28 */ 'if dnsbl("zen.spamhaus.org") and subject starts with "a/b/c" nocase then allow',
  /* 29 */ 'if subject not matches',
  /* 30 */ '      /multi-line regex/ then allow',
  /* 31 */ 'stage attachment-defense-2 { rule 1st-rule: if true then allow }',
];

const EXPECT = [
  // The seed rule.
  { line: 1, text: 'if', scope: 'keyword.control' },
  { line: 1, text: 'header', scope: 'keyword.other.header' },
  { line: 1, text: 'contains', scope: 'keyword.operator.word' },
  { line: 1, text: '"ccsend.constantcontact.com"', scope: 'string.quoted.double' },
  { line: 1, text: 'ccsend.constantcontact.com', scope: 'constant.other.domain', not: true },
  { line: 1, text: 'and', scope: 'keyword.operator.word' },
  { line: 1, text: 'sender', scope: 'variable.other.field' },
  { line: 1, text: 'is', nth: 1, scope: 'keyword.operator.word' },
  { line: 1, text: 'info@widget.com', scope: 'markup.underline.link' },
  { line: 1, text: 'info@widget.com', scope: 'constant.other.email' },
  { line: 1, text: 'then', scope: 'keyword.control' },
  { line: 1, text: 'allow', nth: 1, scope: 'keyword.other.action' },
  { line: 1, text: '# lint: allow(L006)', scope: 'comment.line.number-sign' },
  { line: 1, text: 'allow', nth: 2, scope: 'keyword.other.action', not: true },
  { line: 2, text: '# The seed\'s own sentence, as written: a bare rule lands in custom_filters.', scope: 'comment.line.number-sign' },
  // Settings: keys, domains, IPs, CIDRs, numbers.
  { line: 3, text: 'settings', scope: 'keyword.control' },
  { line: 3, text: '{', scope: 'punctuation.section.block.begin' },
  { line: 4, text: 'org.domains', scope: 'variable.other.property.setting' },
  { line: 4, text: 'widget.com', scope: 'constant.other.domain' },
  { line: 5, text: '203.0.113.10', scope: 'constant.other.ip' },
  { line: 5, text: '198.51.100.0/24', scope: 'constant.other.ip' },
  { line: 5, text: '198.51.100.0/24', scope: 'string.regexp', not: true },
  { line: 5, text: '2001:db8:1::/48', scope: 'constant.other.ip' },
  { line: 5, text: '::1', scope: 'constant.other.ip' },
  { line: 5, text: '# our own servers', scope: 'comment.line.number-sign' },
  { line: 6, text: 'spam.threshold.reject', scope: 'variable.other.property.setting' },
  { line: 6, text: 'reject', scope: 'keyword.other.action', not: true },
  { line: 6, text: '15.0', scope: 'constant.numeric' },
  // A stage with rules.
  { line: 8, text: 'stage', scope: 'keyword.control' },
  { line: 8, text: 'spam_engine', scope: 'entity.name.section' },
  { line: 9, text: 'rule', scope: 'keyword.control' },
  { line: 9, text: 'urgent_wire', scope: 'entity.name.function' },
  { line: 9, text: ':', scope: 'punctuation.separator' },
  { line: 10, text: 'subject', scope: 'variable.other.field' },
  { line: 10, text: 'matches', scope: 'keyword.operator.word' },
  { line: 10, text: '/urgent|wire transfer|immediate payment/i', scope: 'string.regexp' },
  { line: 10, text: 'i', last: true, scope: 'storage.modifier.flags.regexp' },
  { line: 11, text: 'score', scope: 'keyword.other.action' },
  { line: 11, text: '+3.0', scope: 'constant.numeric' },
  { line: 11, text: '"payment urgency wording"', scope: 'string.quoted.double' },
  { line: 12, text: 'big_external', scope: 'entity.name.function' },
  { line: 12, text: 'inbound', scope: 'storage.modifier' },
  { line: 12, text: 'outbound', scope: 'storage.modifier' },
  { line: 13, text: 'size', scope: 'variable.other.field' },
  { line: 13, text: '>', scope: 'keyword.operator.comparison' },
  { line: 13, text: '20MB', scope: 'constant.numeric' },
  { line: 13, text: '20MB', scope: 'constant.numeric.size' },
  { line: 13, text: '-1.5', scope: 'constant.numeric' },
  { line: 14, text: 'internal', scope: 'storage.modifier' },
  { line: 15, text: 'not', scope: 'keyword.operator.word' },
  { line: 15, text: 'from.domain', scope: 'variable.other.field' },
  { line: 15, text: 'in', nth: 2, scope: 'keyword.operator.word' }, // #1 is in from.domain
  { line: 15, text: 'our_domains', scope: 'variable.other.readwrite' },
  { line: 15, text: 'tag', scope: 'keyword.other.action' },
  { line: 15, text: 'add', scope: 'keyword.other.action' },
  { line: 15, text: 'header', scope: 'keyword.other.action' },
  { line: 15, text: 'X-Widget-External', scope: 'entity.name.tag.header' },
  { line: 16, text: '}', scope: 'punctuation.section.block.end' },
  // Strings: a # inside is not a comment; escapes.
  { line: 17, text: '"# not a comment, \\"quoted\\"\\t"', scope: 'string.quoted.double' },
  { line: 17, text: '# not a comment', scope: 'comment', not: true },
  { line: 17, text: '\\"', nth: 1, scope: 'constant.character.escape' },
  { line: 17, text: '\\t', nth: 1, scope: 'constant.character.escape', exact: false }, // right after the escaped quote
  { line: 17, text: 'log', scope: 'keyword.other.action' },
  { line: 17, text: '"tab\\there"', scope: 'string.quoted.double' },
  // Regexes: escapes, an escaped slash, a # inside; flags.
  { line: 18, text: '/^\\[(ext|external)\\]\\/#x/i', scope: 'string.regexp' },
  { line: 18, text: '#x', scope: 'comment', not: true },
  { line: 18, text: '\\/', scope: 'constant.character.escape', exact: false }, // right after the escaped bracket
  { line: 18, text: 'remove', scope: 'keyword.other.action' },
  // Quantifiers and count.
  { line: 19, text: 'any', scope: 'keyword.operator.word' },
  { line: 19, text: 'attachment', scope: 'variable.other.field' },
  { line: 19, text: 'extension', scope: 'variable.other.field' },
  { line: 19, text: '[', scope: 'punctuation.section.brackets.begin' },
  { line: 19, text: 'exe', scope: 'variable.other.readwrite' },
  { line: 19, text: '100KB', scope: 'constant.numeric.size' },
  { line: 19, text: 'reject', scope: 'keyword.other.action' },
  { line: 20, text: 'count', scope: 'keyword.operator.word' },
  { line: 20, text: 'attachments', scope: 'variable.other.field' },
  { line: 20, text: 'content_type', scope: 'variable.other.field' },
  { line: 20, text: '>=', scope: 'keyword.operator.comparison' },
  { line: 20, text: '5', scope: 'constant.numeric' },
  { line: 20, text: 'quarantine', scope: 'keyword.other.action' },
  // Declarations.
  { line: 21, text: 'const', scope: 'keyword.control' },
  { line: 21, text: 'big', scope: 'variable.other.constant' },
  { line: 21, text: '=', scope: 'keyword.operator.assignment' },
  { line: 21, text: '1.5MB', scope: 'constant.numeric.size' },
  { line: 22, text: 'list', scope: 'keyword.control' },
  { line: 22, text: 'execs', nth: 1, scope: 'variable.other.constant' },
  { line: 22, text: 'file', scope: 'support.function.builtin' },
  { line: 22, text: '"execs.txt"', scope: 'string.quoted.double' },
  { line: 23, text: 'def', scope: 'keyword.control' },
  { line: 23, text: 'from_office365', scope: 'entity.name.function' },
  { line: 23, text: '"prod.outlook.com"', scope: 'string.quoted.double' },
  // Names that look like other things.
  { line: 24, text: 'from_office365', scope: 'variable.other.readwrite' },
  { line: 24, text: '10mb', scope: 'constant.numeric', not: true },
  { line: 24, text: 'true', scope: 'constant.language.boolean' },
  { line: 24, text: 'discard', scope: 'keyword.other.action' },
  { line: 24, text: 'tempfail', scope: 'keyword.other.action' },
  { line: 25, text: 'client.ip', scope: 'variable.other.field' },
  { line: 25, text: '10.0.0.0/8', scope: 'constant.other.ip' },
  { line: 25, text: 'first.last+tag@mail.widget.com', scope: 'markup.underline.link' },
  { line: 25, text: 'x', nth: 1, scope: 'variable.other.readwrite' },
  { line: 26, text: '\\q', scope: 'invalid.illegal.escape' },
  { line: 27, text: 'import', scope: 'keyword.control' },
  { line: 27, text: 'stdlib', scope: 'entity.name.namespace' },
  { line: 28, text: 'dnsbl', scope: 'support.function.call' },
  { line: 28, text: 'starts', scope: 'keyword.operator.word' },
  { line: 28, text: 'with', scope: 'keyword.operator.word' },
  { line: 28, text: '"a/b/c"', scope: 'string.quoted.double' },
  { line: 28, text: 'a/b/c', scope: 'string.regexp', not: true },
  { line: 28, text: 'nocase', scope: 'keyword.operator.word' },
  { line: 29, text: 'not', scope: 'keyword.operator.word' },
  { line: 29, text: 'matches', scope: 'keyword.operator.word' },
  { line: 30, text: '/multi-line regex/', scope: 'string.regexp' },
  { line: 30, text: 'then', scope: 'keyword.control' },
  { line: 31, text: 'attachment-defense-2', scope: 'entity.name.section' },
  { line: 31, text: '1st-rule', scope: 'entity.name.function' },
];

function checkExpectations(grammar) {
  const where = 'snippet';
  const lines = tokenize(grammar, SNIPPET.join('\n'), where);
  for (const e of EXPECT) {
    checks++;
    const at = `${where}:${e.line}`;
    const l = lines[e.line - 1];
    let col = -1;
    if (e.last) col = l.text.lastIndexOf(e.text);
    else {
      for (let n = 0; n < (e.nth || 1); n++) {
        col = l.text.indexOf(e.text, col + 1);
        if (col < 0) break;
      }
    }
    if (col < 0) {
      fail(at, `"${e.text}" not found in: ${l.text}`);
      continue;
    }
    const end = col + e.text.length;
    const label = `${JSON.stringify(e.text)}${e.nth ? ` (#${e.nth})` : ''}`;
    if (e.not) {
      for (let c = col; c < end; c++) {
        if (hasScope(l.scopesAt[c], e.scope)) {
          fail(at, `${label} must not be ${e.scope}; column ${c + 1} is "${show(l.scopesAt[c])}"`);
          break;
        }
      }
      continue;
    }
    let ok = true;
    for (let c = col; c < end; c++) {
      if (!hasScope(l.scopesAt[c], e.scope)) {
        fail(at, `${label} must be ${e.scope}; column ${c + 1} is "${show(l.scopesAt[c])}"`);
        ok = false;
        break;
      }
    }
    if (ok && e.exact !== false) {
      let from = col;
      while (from > 0 && hasScope(l.scopesAt[from - 1], e.scope)) from--;
      let to = end;
      while (to < l.text.length && hasScope(l.scopesAt[to], e.scope)) to++;
      if (from !== col || to !== end) {
        fail(at, `${label}: the ${e.scope} run is ${JSON.stringify(l.text.slice(from, to))}, not just this text`);
      }
    }
  }
  // The snippet is valid apart from line 26 (a bad escape): the lexer checks too.
  const valid = SNIPPET.map((l, i) => (i + 1 === 26 ? '' : l)).join('\n');
  checkText(grammar, valid, 'snippet (lexer)', { strict: true });
}

// The ```mp injection for Markdown: code in an mp fence is mailpolicy, outside is not.
async function checkMarkdownInjection(registry) {
  const md = await registry.loadGrammar('text.html.markdown');
  const text = [
    'Some text: if and then.',
    '```mp',
    'if sender is info@widget.com then allow  # comment',
    '```',
    'More text with a # hash.',
    '```mp-error',
    'if subject contains "x" then quarantine, reject "Refused"',
    '```',
  ].join('\n');
  const lines = tokenize(md, text, 'markdown');
  const expect = (lineNo, needle, scope, not) => {
    checks++;
    const l = lines[lineNo - 1];
    const col = l.text.indexOf(needle);
    const scopes = col < 0 ? [] : l.scopesAt[col];
    if (col < 0 || hasScope(scopes, scope) === Boolean(not)) {
      fail(`markdown:${lineNo}`, `${JSON.stringify(needle)} ${not ? 'must not' : 'must'} be ${scope}; is "${scopes.join(' ')}"`);
    }
  };
  expect(1, 'if', 'keyword.control', true);
  expect(2, 'mp', 'fenced_code.block.language');
  expect(3, 'if', 'keyword.control');
  expect(3, 'if', 'meta.embedded.block.mailpolicy');
  expect(3, 'info@widget.com', 'markup.underline.link');
  expect(3, '# comment', 'comment.line.number-sign');
  expect(5, '# hash', 'comment.line.number-sign', true);
  expect(7, 'quarantine', 'keyword.other.action');
}

// ---- The extension manifest -------------------------------------------------------

function checkManifest() {
  const dir = path.join(ROOT, 'editors', 'vscode');
  const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  let pkg;
  let conf;
  try {
    pkg = read('package.json');
    conf = read('language-configuration.json');
  } catch (e) {
    fail('editors/vscode', `cannot read the manifest: ${e.message}`);
    return;
  }
  checks++;
  const lang = (pkg.contributes.languages || []).find((l) => l.id === 'mailpolicy');
  if (!lang || !lang.extensions.includes('.mp')) fail('editors/vscode/package.json', 'no language mailpolicy for .mp');
  for (const g of pkg.contributes.grammars || []) {
    if (!fs.existsSync(path.join(dir, g.path))) fail('editors/vscode/package.json', `grammar ${g.path} missing`);
  }
  if (!(pkg.contributes.grammars || []).some((g) => g.language === 'mailpolicy' && g.scopeName === ROOT_SCOPE)) {
    fail('editors/vscode/package.json', `no grammar ${ROOT_SCOPE} for mailpolicy`);
  }
  if (!conf.comments || conf.comments.lineComment !== '#') fail('editors/vscode/language-configuration.json', 'line comment is not #');
}

// ---- Vim -------------------------------------------------------------------------------

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch (e) {
      return false;
    }
  });
}

function checkVim() {
  if (!onPath('vim')) return 'skipped (no vim)';
  const before = failures.length;
  const run = (args, env) => childProcess.spawnSync('vim', args, { cwd: ROOT, encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });
  checks++;
  // vim -Nu NONE -es -c "syntax on" -c "source editors/vim/syntax/mailpolicy.vim" -c q
  const load = run(['-Nu', 'NONE', '-es', '-c', 'syntax on', '-c', 'source editors/vim/syntax/mailpolicy.vim', '-c', 'q']);
  if (load.status !== 0) {
    fail('editors/vim/syntax/mailpolicy.vim', `vim exits ${load.status === null ? load.signal : load.status} when sourcing it ${load.stdout}${load.stderr}`);
  }
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-vim-')), 'probe.txt');
  const probe = run(['-Nu', 'NONE', '-n', '-i', 'NONE', '-es', '-S', 'editors/test/vim_probe.vim'], { MP_VIM_PROBE_OUT: outFile });
  let report = '';
  try {
    report = fs.readFileSync(outFile, 'utf8');
  } catch (e) {
    report = '';
  }
  fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  const lines = report.split('\n').filter(Boolean);
  checks += lines.length;
  for (const l of lines.filter((x) => x.startsWith('FAIL'))) fail('editors/test/vim_probe.vim', l.slice(5));
  if (probe.status !== 0 && !lines.some((x) => x.startsWith('FAIL'))) {
    fail('editors/test/vim_probe.vim', `vim exits ${probe.status === null ? probe.signal : probe.status} ${probe.stdout}${probe.stderr}`);
  }
  if (lines.length === 0) fail('editors/test/vim_probe.vim', 'the probe reported nothing');
  return `${failures.length === before ? 'ok' : 'FAIL'} (${lines.length} probes)`;
}

// ---- Main ----------------------------------------------------------------------------

async function main() {
  const registry = await loadRegistry();
  const grammar = await registry.loadGrammar(ROOT_SCOPE);
  if (!grammar) throw new Error(`cannot load ${ROOT_SCOPE}`);

  let lineCount = 0;
  const examples = findFiles(path.join(ROOT, 'examples'), '.mp');
  if (examples.length === 0) fail('examples', 'no .mp file found');
  for (const file of examples) {
    lineCount += checkText(grammar, fs.readFileSync(file, 'utf8'), rel(file), { strict: true });
  }
  let blockCount = 0;
  const docs = findFiles(path.join(ROOT, 'docs'), '.md');
  for (const file of docs) {
    for (const block of docBlocks(file)) {
      blockCount++;
      const where = `${rel(file)}:${block.line}`;
      lineCount += checkText(grammar, block.text, where, { strict: !block.error });
    }
  }
  if (blockCount === 0) fail('docs', 'no ```mp block found');

  checkExpectations(grammar);
  await checkMarkdownInjection(registry);
  checkManifest();
  const vim = checkVim();

  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(
    `editors test summary: ${lineCount} lines tokenised (${examples.length} example files, ${blockCount} doc blocks), ` +
      `${checks} checks, ${EXPECT.length} named expectations, vim ${vim}: ${failures.length} failures, ` +
      `${failures.length === 0 ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((e) => {
  console.log(`FAIL ${e && e.stack ? e.stack : e}`);
  console.log(`editors test summary: crashed: ${failures.length + 1} failures, FAIL`);
  process.exitCode = 1;
});

" Vim syntax file
" Language:    mailpolicy (mail-filtering policy files, *.mp)
" Grammar:     lang/Policy.g4; reference: docs/language.md
" Maintainer:  the mailpolicy project
"
" The token classes follow the VS Code grammar in editors/vscode/syntaxes/:
" comments, strings with escapes, /regex/flags after `matches`, addresses, IPv4/IPv6
" and CIDR prefixes, sizes and numbers, keywords by role, stage and rule names, and
" dotted paths told apart by position (a field before an operator, a settings key
" before `=`, otherwise a domain value).

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Keyword characters: names may contain `-` (X-Widget-External); `.` and `@` are
" included so that a keyword inside a dotted path (spam.threshold.reject, in.gov) or an
" address (log@widget.com) is not highlighted as a keyword.
syn iskeyword @,48-57,_,192-255,-,.,@-@

" ---- Names ------------------------------------------------------------------------
" Defined first: the more specific matches below win when they start at the same place
" (for :syn match, the last definition wins; a :syn keyword beats any match).

" A plain name: a const, list or def, or a bare word ([htm, html]).
syn match mpName         /\%([A-Za-z0-9_.-]\)\@<![A-Za-z0-9_][A-Za-z0-9_-]*/
" Any other dotted path is a value: a domain (widget.com) or a dotted word.
syn match mpDomain       /\%([A-Za-z0-9_.-]\)\@<![A-Za-z0-9_][A-Za-z0-9_-]*\%(\.[A-Za-z0-9_-]\+\)\+/
" A settings key: a dotted path before `=`.
syn match mpSettingKey   /\%([A-Za-z0-9_.-]\)\@<![A-Za-z0-9_][A-Za-z0-9_-]*\%(\.[A-Za-z0-9_-]\+\)\+\ze\s*=\%(=\)\@!/
" A field: the left side of a test, a path or a name before an operator.
syn match mpField        /\%([A-Za-z0-9_.-]\)\@<![A-Za-z0-9_][A-Za-z0-9_-]*\%(\.[A-Za-z0-9_-]\+\)*\ze\%(\s*\%([<>]=\=\|[=!]=\)\|\s\+\%(not\s\+\)\=\%(is\|in\|contains\|starts\|ends\|matches\|resembles\)\%([A-Za-z0-9_-]\)\@!\)/
" A function call: dnsbl("zen.spamhaus.org").
syn match mpCall         /\%([A-Za-z0-9_.-]\)\@<![A-Za-z0-9_][A-Za-z0-9_-]*\ze\s*(/

" ---- Literals ---------------------------------------------------------------------

" 42, 4.5, -3, +4.0
syn match mpNumber       /\%([A-Za-z0-9_.+-]\)\@<![+-]\=\d\+\%(\.\d\+\)\=\%([A-Za-z0-9_.@:-]\)\@!/
" 512B 10K 10KB 10kB 1.5MB 1M 2GB 2G (case-sensitive units: 10mb is a name)
syn match mpSize         /\%([A-Za-z0-9_.-]\)\@<!\d\+\%(\.\d\+\)\=\%(KB\|MB\|GB\|kB\|K\|M\|G\|B\)\%([A-Za-z0-9_.@-]\)\@!/
" 203.0.113.10, 198.51.100.0/24
syn match mpIPv4         +\%([A-Za-z0-9_.-]\)\@<!\d\+\.\d\+\.\d\+\.\d\+\%(/\d\+\)\=\%([A-Za-z0-9_.@:/-]\)\@!+
" 2001:db8::/32, ::1, ::ffff:192.0.2.1 (at least two colons)
syn match mpIPv6         +\%([A-Za-z0-9_.:-]\)\@<![0-9A-Fa-f]*:\%([0-9A-Fa-f]*:\)\+\%(\d\+\.\d\+\.\d\+\.\d\+\|[0-9A-Fa-f]\+\)\=\%(/\d\+\)\=\%([A-Za-z0-9_.:-]\)\@!+
" info@widget.com, first.last+tag@mail.widget.com
syn match mpAddress      /\%([A-Za-z0-9._%+@-]\)\@<![A-Za-z0-9._%+-]\+@[A-Za-z0-9][A-Za-z0-9-]*\%(\.[A-Za-z0-9][A-Za-z0-9-]*\)*/

" "..." on one line; escapes \\ \" \n \t \r, any other escape is an error (E022).
syn region mpString      start=/"/ skip=/\\\\\|\\"/ end=/"\|$/ contains=mpEscapeError,mpEscape
syn match mpEscapeError  /\\./ contained
syn match mpEscape       /\\[\\"ntr]/ contained

" /regex/flags: only after `matches`, possibly on a later line.
syn match mpRegex        +/\%([^/\\]\|\\.\)\+/[a-z]*+ contained contains=mpRegexEscape
syn match mpRegexEscape  /\\./ contained

" # to the end of the line; strings and regexes start earlier and so win over it.
syn match mpComment      /#.*$/ contains=mpTodo,@Spell
syn keyword mpTodo       TODO FIXME XXX NOTE contained

" ---- Keywords ---------------------------------------------------------------------

syn keyword mpConditional  if then
syn keyword mpDeclaration  settings option disable rescore
syn keyword mpDeclaration  stage nextgroup=mpStageName skipwhite
syn keyword mpDeclaration  rule nextgroup=mpRuleName skipwhite
syn keyword mpDeclaration  def nextgroup=mpDefName skipwhite
syn keyword mpDeclaration  const list nextgroup=mpConstName skipwhite
syn keyword mpInclude      import
syn keyword mpOperatorWord and or not is in starts ends with nocase resembles except
" `contains` is an argument name of :syn keyword, so it needs a match.
syn match mpOperatorWord   /\%([A-Za-z0-9_.@-]\)\@<!contains\%([A-Za-z0-9_.@-]\)\@!/
syn keyword mpOperatorWord matches nextgroup=mpRegex skipwhite skipnl skipempty
syn keyword mpQuantifier   any all nextgroup=mpCollection skipwhite
syn keyword mpQuantifier   count
syn keyword mpAction       allow reject quarantine discard tempfail score tag banner log rewrite
syn keyword mpAction       add remove nextgroup=mpActionHeader skipwhite
syn keyword mpActionHeader header contained nextgroup=mpHeaderName skipwhite
syn keyword mpHeader       header
syn keyword mpDirection    inbound outbound internal
syn keyword mpBoolean      true false
syn keyword mpBuiltin      file

syn match mpStageName    /[A-Za-z0-9_][A-Za-z0-9_-]*/ contained
syn match mpRuleName     /[A-Za-z0-9_][A-Za-z0-9_-]*/ contained
syn match mpDefName      /[A-Za-z0-9_][A-Za-z0-9_-]*/ contained
syn match mpConstName    /[A-Za-z0-9_][A-Za-z0-9_-]*/ contained
syn match mpCollection   /[A-Za-z0-9_][A-Za-z0-9_-]*/ contained
syn match mpHeaderName   /[A-Za-z0-9_][A-Za-z0-9_-]*\%(\.[A-Za-z0-9_-]\+\)*/ contained

" ---- Operators and punctuation ----------------------------------------------------

syn match mpOperator     /[<>]=\=\|[=!]=\|=/
syn match mpDelimiter    /[{}()\[\],:]/

syn sync minlines=20

" ---- Highlight links --------------------------------------------------------------

hi def link mpComment      Comment
hi def link mpTodo         Todo
hi def link mpString       String
hi def link mpEscape       SpecialChar
hi def link mpEscapeError  Error
hi def link mpRegex        String
hi def link mpRegexEscape  SpecialChar
hi def link mpNumber       Number
hi def link mpSize         Number
hi def link mpIPv4         Constant
hi def link mpIPv6         Constant
hi def link mpAddress      Underlined
hi def link mpDomain       Constant
hi def link mpSettingKey   Identifier
hi def link mpField        Identifier
hi def link mpCollection   Identifier
hi def link mpCall         Function
hi def link mpConditional  Conditional
hi def link mpDeclaration  Keyword
hi def link mpInclude      Include
hi def link mpOperatorWord Operator
hi def link mpQuantifier   Operator
hi def link mpAction       Statement
hi def link mpActionHeader Statement
hi def link mpHeader       Keyword
hi def link mpDirection    StorageClass
hi def link mpBoolean      Boolean
hi def link mpBuiltin      Function
hi def link mpStageName    Structure
hi def link mpRuleName     Function
hi def link mpDefName      Function
hi def link mpConstName    Identifier
hi def link mpHeaderName   Identifier
hi def link mpOperator     Operator
hi def link mpDelimiter    Delimiter

let b:current_syntax = 'mailpolicy'

let &cpo = s:cpo_save
unlet s:cpo_save

" Probes editors/vim: *.mp is detected as mailpolicy, and the syntax file gives the
" expected highlight groups at known places. Run by tokenize.test.js as
"   MP_VIM_PROBE_OUT=FILE vim -Nu NONE -es -S editors/test/vim_probe.vim
" Writes one line per check to $MP_VIM_PROBE_OUT ("ok ..." or "FAIL ...") and
" exits non-zero (cquit) when a check failed.
set nocompatible
" No swap file next to the example (a second probe running at once would trip on it).
set noswapfile nobackup nowritebackup viminfo=
let s:root = fnamemodify(expand('<sfile>:p'), ':h:h:h')
let s:out = []
let s:failed = 0

function! s:Report(ok, what) abort
  call add(s:out, (a:ok ? 'ok   ' : 'FAIL ') . a:what)
  if !a:ok
    let s:failed += 1
  endif
endfunction

execute 'set runtimepath^=' . fnameescape(s:root . '/editors/vim')
filetype on
syntax on

" Filetype detection, on the example policy.
execute 'edit ' . fnameescape(s:root . '/examples/widget/policy.mp')
call s:Report(&filetype ==# 'mailpolicy', 'ftdetect: policy.mp has filetype ' . &filetype)
call s:Report(get(b:, 'current_syntax', '') ==# 'mailpolicy', 'syntax: b:current_syntax is ' . get(b:, 'current_syntax', '(unset)'))

" Highlighting, on lines taken from the example and the docs.
enew
setlocal filetype=mailpolicy
call setline(1, [
  \ 'if header contains "ccsend.constantcontact.com" and sender is info@widget.com then allow  # lint: allow(L006)',
  \ 'settings {',
  \ '  org.sending_servers = [203.0.113.10, 198.51.100.0/24, 2001:db8:1::/48]  # our own mail and web servers',
  \ '  spam.threshold.reject = 15.0',
  \ '}',
  \ 'stage spam_engine {',
  \ '  rule urgent_wire:',
  \ '    if subject matches /urgent|wire transfer|immediate payment/i',
  \ '    then score +3.0 "payment urgency wording"',
  \ '  rule big_external (inbound):',
  \ '    if size > 20MB then score +1.0 "very large inbound message"',
  \ '  rule external_tag (inbound):',
  \ '    if not from.domain in our_domains then tag "[External]", add header X-Widget-External "yes"',
  \ '}',
  \ 'if subject contains "a # not a comment \"quoted\"" then log "x\ty"',
  \ 'if any attachment (extension in [exe, scr] and size > 100KB) then reject "550 5.7.1 No"',
  \ 'const big = 20MB',
  \ 'list execs = file("execs.txt")',
  \ 'if from.domain in [widget.com, widget.ca] and 10mb is true then discard',
  \ ])
syntax sync fromstart

" Checks that the text `needle` (its occurrence number `nth`, 1-based) on line `lnum`
" has syntax group `group` (a mailpolicy group, or the standard group it links to) on
" each of its characters, blanks excepted outside strings, regexes and comments.
function! s:Expect(lnum, needle, nth, group) abort
  let l:line = getline(a:lnum)
  let l:col = -1
  let l:start = 0
  for l:i in range(a:nth)
    let l:col = stridx(l:line, a:needle, l:start)
    if l:col < 0
      break
    endif
    let l:start = l:col + 1
  endfor
  if l:col < 0
    call s:Report(0, printf('line %d: %s not found', a:lnum, a:needle))
    return
  endif
  let l:bad = ''
  for l:c in range(l:col + 1, l:col + len(a:needle))
    if l:line[l:c - 1] =~# '\s' && a:group !~# 'String\|Comment\|mpRegex'
      continue
    endif
    " The group itself or one containing it (an escape inside a string).
    let l:names = map(synstack(a:lnum, l:c), 'synIDattr(v:val, "name")')
    let l:linked = map(synstack(a:lnum, l:c), 'synIDattr(synIDtrans(v:val), "name")')
    if index(l:names, a:group) < 0 && index(l:linked, a:group) < 0
      let l:bad = printf('col %d is %s', l:c, empty(l:names) ? 'no group' : join(l:names, '/'))
      break
    endif
  endfor
  call s:Report(empty(l:bad), printf('line %d: %s is %s%s', a:lnum, a:needle, a:group, empty(l:bad) ? '' : ': ' . l:bad))
endfunction

call s:Expect(1, 'if', 1, 'mpConditional')
call s:Expect(1, 'header', 1, 'mpHeader')
call s:Expect(1, 'contains', 1, 'mpOperatorWord')
call s:Expect(1, '"ccsend.constantcontact.com"', 1, 'mpString')
call s:Expect(1, 'sender', 1, 'mpField')
call s:Expect(1, 'is', 1, 'mpOperatorWord')
call s:Expect(1, 'info@widget.com', 1, 'mpAddress')
call s:Expect(1, 'allow', 1, 'mpAction')
call s:Expect(1, '# lint: allow(L006)', 1, 'mpComment')
call s:Expect(2, 'settings', 1, 'mpDeclaration')
call s:Expect(3, 'org.sending_servers', 1, 'mpSettingKey')
call s:Expect(3, '203.0.113.10', 1, 'mpIPv4')
call s:Expect(3, '198.51.100.0/24', 1, 'mpIPv4')
call s:Expect(3, '2001:db8:1::/48', 1, 'mpIPv6')
call s:Expect(3, '# our own mail and web servers', 1, 'mpComment')
call s:Expect(4, 'spam.threshold.reject', 1, 'mpSettingKey')
call s:Expect(4, '15.0', 1, 'mpNumber')
call s:Expect(6, 'stage', 1, 'mpDeclaration')
call s:Expect(6, 'spam_engine', 1, 'mpStageName')
call s:Expect(7, 'rule', 1, 'mpDeclaration')
call s:Expect(7, 'urgent_wire', 1, 'mpRuleName')
call s:Expect(8, 'subject', 1, 'mpField')
call s:Expect(8, 'matches', 1, 'mpOperatorWord')
call s:Expect(8, '/urgent|wire transfer|immediate payment/i', 1, 'mpRegex')
call s:Expect(9, 'score', 1, 'mpAction')
call s:Expect(9, '+3.0', 1, 'mpNumber')
call s:Expect(10, 'big_external', 1, 'mpRuleName')
call s:Expect(10, 'inbound', 1, 'mpDirection')
call s:Expect(11, 'size', 1, 'mpField')
call s:Expect(11, '20MB', 1, 'mpSize')
call s:Expect(13, 'not', 1, 'mpOperatorWord')
call s:Expect(13, 'from.domain', 1, 'mpField')
call s:Expect(13, 'tag', 1, 'mpAction')
call s:Expect(13, 'add', 1, 'mpAction')
call s:Expect(13, 'header', 1, 'mpActionHeader')
call s:Expect(13, 'X-Widget-External', 1, 'mpHeaderName')
call s:Expect(15, '"a # not a comment \"quoted\""', 1, 'mpString')
call s:Expect(15, '\"', 1, 'mpEscape')
call s:Expect(15, '\t', 1, 'mpEscape')
call s:Expect(15, 'log', 1, 'mpAction')
call s:Expect(16, 'any', 1, 'mpQuantifier')
call s:Expect(16, 'attachment', 1, 'mpCollection')
call s:Expect(16, 'extension', 1, 'mpField')
call s:Expect(16, '100KB', 1, 'mpSize')
call s:Expect(16, 'reject', 1, 'mpAction')
call s:Expect(17, 'const', 1, 'mpDeclaration')
call s:Expect(17, 'big', 1, 'mpConstName')
call s:Expect(18, 'execs', 1, 'mpConstName')
call s:Expect(18, 'file', 1, 'mpBuiltin')
call s:Expect(19, 'widget.com', 1, 'mpDomain')
call s:Expect(19, 'true', 1, 'mpBoolean')
call s:Expect(19, 'discard', 1, 'mpAction')

call writefile(s:out, $MP_VIM_PROBE_OUT)
if s:failed
  cquit
endif
qall!

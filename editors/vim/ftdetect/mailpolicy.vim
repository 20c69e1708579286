" Filetype detection for mailpolicy policy files (*.mp).
" Vim's own filetype.vim maps *.mp to MetaPost with :setfiletype, which runs first;
" `set filetype=` (not :setfiletype) overrides it.
autocmd BufRead,BufNewFile *.mp set filetype=mailpolicy

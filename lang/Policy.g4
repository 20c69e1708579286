// The mailpolicy grammar. The parser only builds a parse tree; lang/ast_builder.cpp
// turns it into the AST with source spans, and compiler/ gives it meaning (names,
// types). Literal forms that look alike (domain vs field path, bare words) are told
// apart there by position, not here.
grammar Policy;

policyFile : item* EOF ;

item
  : importDecl
  | constDecl
  | listDecl
  | defDecl
  | settingsBlock
  | optionDecl
  | disableDecl
  | rescoreDecl
  | stageBlock
  | bareRule
  | assertDecl
  ;

importDecl   : IMPORT path ;
constDecl    : CONST name '=' value ;
listDecl     : LIST name '=' (fileSource | listLiteral) ;
fileSource   : FILE '(' STRING ')' ;
defDecl      : DEF name '=' condition ;
settingsBlock: SETTINGS '{' setting* '}' ;
setting      : path '=' (value | actionWord | fileSource) ;
// A setting a module offers its users, with its default (docs/stdlib.md).
// `option KEY in [A, B] = A`: a word option that takes only those words.
optionDecl   : OPTION path (IN '[' optionChoice (',' optionChoice)* ']')? '=' (value | actionWord) ;
optionChoice : value | actionWord ;
// Adjusting a rule of an imported module by its STAGE.RULE name.
disableDecl  : DISABLE RULE? path ;
rescoreDecl  : RESCORE RULE? path (PLUS | MINUS)? NUMBER ;
// A setting may name an action (facts.on_temperror = tempfail).
actionWord   : TEMPFAIL | ALLOW | REJECT | QUARANTINE | DISCARD | SCORE | TAG ;

// A property of the policy's verdicts, checked and proved by `policyc fuzz`
// (docs/fuzzing.md): `assert never allow when from.domain in org.domains`.
assertDecl   : ASSERT NEVER verdictWord (WHEN condition)? ;
verdictWord  : ALLOW | REJECT | QUARANTINE | DISCARD | TEMPFAIL | name ;

stageBlock   : STAGE name '{' ruleDecl* '}' ;
ruleDecl     : RULE name ('(' scope (',' scope)* ')')? ':' IF condition THEN actions ;
bareRule     : IF condition THEN actions ;
// A direction, recipients (`user ceo@widget.com`, `group finance`) or an expiry date
// (`until 2026-12-31`); the word before the value is checked by the compiler, so
// `user`, `group` and `until` stay plain names.
scope        : INBOUND | OUTBOUND | INTERNAL | name value ;

condition
  : NOT condition                              # notCond
  | condition AND condition                    # andCond
  | condition OR condition                     # orCond
  | '(' condition (PLUS condition)+ ')' relOp operand  # sumCond
  | '(' condition ')'                          # parenCond
  | quantifier name '(' condition ')'          # quantCond
  | operand NOT? compareOp operand NOCASE?     # compareCond
  | operand IS NOT? operand NOCASE?            # isCond
  | operand NOT? IN operand NOCASE?            # inCond
  | operand NOT? MATCHES REGEX                 # matchCond
  | operand NOT? RESEMBLES operand             # resemblesCond
  | operand relOp operand                      # relCond
  | operand                                    # boolCond
  ;

quantifier : ANY | ALL ;
compareOp  : CONTAINS | STARTS WITH | ENDS WITH ;
relOp      : '<' | '<=' | '>' | '>=' | '==' | '!=' ;

operand
  : HEADER STRING                              # headerOperand
  | HEADER                                     # anyHeaderOperand
  | COUNT '(' name ('(' condition ')')? ')'    # countOperand
  | name '(' (operand (',' operand)*)? ')'     # callOperand
  | value                                      # valueOperand
  ;

value
  : STRING                                     # stringValue
  | (PLUS | MINUS)? NUMBER                     # numberValue
  | SIZE                                       # sizeValue
  | ADDRESS                                    # addressValue
  | IPV4                                       # ipv4Value
  | IPV6                                       # ipv6Value
  | path                                       # pathValue
  | listLiteral                                # listValue
  | TRUE                                       # trueValue
  | FALSE                                      # falseValue
  ;

listLiteral : '[' (value (',' value)* ','?)? ']' ;

actions : action ((',' | AND)? action)* ;
action
  : ALLOW                                      # allowAction
  | REJECT STRING?                             # rejectAction
  | QUARANTINE STRING?                         # quarantineAction
  | DISCARD                                    # discardAction
  | TEMPFAIL STRING?                           # tempfailAction
  | SCORE (PLUS | MINUS)? NUMBER STRING?       # scoreAction
  | TAG (STRING | path)                        # tagAction
  | BANNER (STRING | path)                     # bannerAction
  | REWRITE name (STRING | path) (EXCEPT value)?  # rewriteUrlsAction
  | ADD HEADER headerName (STRING | path)      # addHeaderAction
  | REMOVE HEADER headerName                   # removeHeaderAction
  | LOG STRING                                 # logAction
  ;
headerName : STRING | path ;

// A dotted name: a field path (from.domain), a domain literal (widget.com), a
// setting key (spam.threshold.reject), or a plain name (a const, a bare word).
path : word ('.' word)+ | name ;
// The words of `assert` are keywords only there: a rule, def or const may still be named
// `never` or `when`.
name : IDENT | ASSERT | NEVER | WHEN ;
// In a dotted path any word is allowed, keywords and numbers included, so that setting
// keys (spam.threshold.reject) and domains (163.com, in.gov) need no quotes.
word : IDENT | NUMBER | IMPORT | CONST | LIST | DEF | SETTINGS | STAGE | RULE | IF | THEN | FILE
     | INBOUND | OUTBOUND | INTERNAL | NOT | AND | OR | IS | IN | CONTAINS | STARTS | ENDS
     | WITH | MATCHES | NOCASE | ANY | ALL | COUNT | HEADER | TRUE | FALSE | ALLOW | REJECT
     | QUARANTINE | DISCARD | TEMPFAIL | SCORE | TAG | BANNER | ADD | REMOVE | LOG
     | OPTION | DISABLE | RESCORE | RESEMBLES | REWRITE | EXCEPT | ASSERT | NEVER | WHEN ;

// Keywords
IMPORT: 'import'; CONST: 'const'; LIST: 'list'; DEF: 'def'; SETTINGS: 'settings';
STAGE: 'stage'; RULE: 'rule'; IF: 'if'; THEN: 'then'; FILE: 'file';
INBOUND: 'inbound'; OUTBOUND: 'outbound'; INTERNAL: 'internal';
NOT: 'not'; AND: 'and'; OR: 'or'; IS: 'is'; IN: 'in'; CONTAINS: 'contains';
STARTS: 'starts'; ENDS: 'ends'; WITH: 'with'; MATCHES: 'matches'; NOCASE: 'nocase';
ANY: 'any'; ALL: 'all'; COUNT: 'count'; HEADER: 'header'; TRUE: 'true'; FALSE: 'false';
ALLOW: 'allow'; REJECT: 'reject'; QUARANTINE: 'quarantine'; DISCARD: 'discard';
TEMPFAIL: 'tempfail'; SCORE: 'score'; TAG: 'tag'; BANNER: 'banner'; ADD: 'add'; REMOVE: 'remove'; LOG: 'log';
OPTION: 'option'; DISABLE: 'disable'; RESCORE: 'rescore'; RESEMBLES: 'resembles';
REWRITE: 'rewrite'; EXCEPT: 'except'; ASSERT: 'assert'; NEVER: 'never'; WHEN: 'when';

PLUS: '+'; MINUS: '-';

STRING : '"' ( ~["\\\r\n] | '\\' . )* '"' ;
REGEX  : '/' ( ~[/\\\r\n] | '\\' . )+ '/' [a-z]* ;
ADDRESS: LOCAL '@' LABEL ('.' LABEL)* ;
IPV6   : HEX* ':' (HEX* ':')+ (HEX+ | DEC '.' DEC '.' DEC '.' DEC)? ('/' DEC)? ;
IPV4   : DEC '.' DEC '.' DEC '.' DEC ('/' DEC)? ;
SIZE   : DEC ('.' DEC)? ('KB' | 'MB' | 'GB' | 'kB' | 'K' | 'M' | 'G' | 'B') ;
NUMBER : DEC ('.' DEC)? ;
IDENT  : [A-Za-z_0-9] [A-Za-z_0-9\-]* ;

COMMENT: '#' ~[\r\n]* -> channel(HIDDEN) ;
WS     : [ \t\r\n]+ -> skip ;
ERRCHAR: . ;

fragment LOCAL: [A-Za-z0-9._%+\-]+ ;
fragment LABEL: [A-Za-z0-9] [A-Za-z0-9\-]* ;
fragment HEX  : [0-9a-fA-F] ;
fragment DEC  : [0-9]+ ;

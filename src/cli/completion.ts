/**
 * `factory-mcp completion bash|zsh`: a shell completion script generated from the CLI's own
 * command list (names, summaries, options, fixed words), so it cannot drift from the commands.
 */

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionCommand {
  name: string;
  summary: string;
  /** Long option names without the dashes (the command's own and the common ones). */
  options: readonly string[];
  /** Fixed words its first argument takes (e.g. `completion bash|zsh`); files otherwise. */
  words?: readonly string[];
}

const FN = '_factory_mcp';
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const flags = (c: CompletionCommand) => c.options.map((o) => `--${o}`).join(' ');

function bash(commands: readonly CompletionCommand[], top: readonly string[]): string {
  const cases = commands.map((c) => `    ${c.name}) opts=${sh(flags(c))}; words=${sh((c.words ?? []).join(' '))} ;;`);
  return `# factory-mcp completion for bash. Load it with: source <(factory-mcp completion bash)
${FN}() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${sh([...commands.map((c) => c.name), ...top].join(' '))} -- "$cur") )
    return 0
  fi
  local opts='' words=''
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [ "$COMP_CWORD" -eq 2 ] && [ -n "$words" ]; then
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -o filenames -F ${FN} factory-mcp
`;
}

function zsh(commands: readonly CompletionCommand[], top: readonly string[]): string {
  const described = commands.map((c) => `    ${sh(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`);
  const cases = commands.map((c) => `    ${c.name}) opts=(${flags(c)}); fixed=(${(c.words ?? []).join(' ')}) ;;`);
  return `#compdef factory-mcp
# factory-mcp completion for zsh. Load it with: source <(factory-mcp completion zsh)
# (after compinit), or save it as _factory-mcp in a folder of your $fpath.
${FN}() {
  local -a commands opts fixed
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    compadd -- ${top.join(' ')}
    return
  fi
  case $words[2] in
${cases.join('\n')}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  elif (( CURRENT == 3 && $#fixed > 0 )); then
    compadd -- $fixed
  else
    _files
  fi
}
if [[ $funcstack[1] == _factory-mcp ]]; then ${FN} "$@"; else compdef ${FN} factory-mcp; fi
`;
}

export function completionScript(shell: Shell, commands: readonly CompletionCommand[], top: readonly string[]): string {
  return shell === 'bash' ? bash(commands, top) : zsh(commands, top);
}

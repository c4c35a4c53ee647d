import type { Command } from "commander";
import { UsageError } from "../../shared/errors.js";

/** A command's words as completion needs them: subcommands and options, by command path. */
interface CompletionTree {
  /** "" for the top level, "audit log" for a subcommand. */
  path: string;
  words: string[];
}

function treeOf(program: Command): CompletionTree[] {
  const out: CompletionTree[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const options = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
    const subcommands = cmd.commands.map((c) => c.name());
    out.push({ path: path.join(" "), words: [...subcommands, ...options, "--help"] });
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

/** Only words commander accepts can be here, but quoting keeps the script safe whatever they hold. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.:=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * bash: the words after `tenure` (options skipped) name a command path; the longest known path
 * decides what is offered. Generated from the program, so it never goes stale.
 */
function bashScript(tree: readonly CompletionTree[]): string {
  const cases = tree
    .map(
      (t) => `    ${shellWord(t.path === "" ? "__top" : t.path)}) words=${shellWord(t.words.join(" "))} ;;`,
    )
    .join("\n");
  return `# tenure completion for bash. Load it with: source <(tenure completion bash)
_tenure() {
  local cur path="" candidate word words i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    candidate="\${path:+$path }$word"
    case "$candidate" in
${tree
  .filter((t) => t.path !== "")
  .map((t) => `      ${shellWord(t.path)}) path="$candidate" ;;`)
  .join("\n")}
    esac
  done
  case "\${path:-__top}" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _tenure tenure
`;
}

/** zsh: the same table, through zsh's compdef and compadd. */
function zshScript(tree: readonly CompletionTree[]): string {
  const entries = tree
    .map((t) => `  ${shellWord(t.path === "" ? "__top" : t.path)} ${shellWord(t.words.join(" "))}`)
    .join("\n");
  return `#compdef tenure
# tenure completion for zsh. Load it with: source <(tenure completion zsh)
typeset -A _tenure_words
_tenure_words=(
${entries}
)
_tenure() {
  local path="" candidate word i
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    [[ "$word" == -* ]] && continue
    candidate="\${path:+$path }$word"
    (( \${+_tenure_words[$candidate]} )) && path="$candidate"
  done
  compadd -- \${=_tenure_words[\${path:-__top}]}
}
compdef _tenure tenure
`;
}

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(tenure completion bash), or zsh")
    .argument("<shell>", "bash or zsh")
    .action((shell: string) => {
      const tree = treeOf(program);
      if (shell === "bash") process.stdout.write(bashScript(tree));
      else if (shell === "zsh") process.stdout.write(zshScript(tree));
      else throw new UsageError(`completion: "${shell}" is not a shell this knows; expected bash or zsh`);
    });
}

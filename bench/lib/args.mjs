/** The command-line options the bench scripts share: `--name value`, `--name=value`, flags, `--var K=V`. */
export function cliArgs(args = process.argv.slice(2)) {
  const option = (name, dflt = null) => {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return dflt;
    return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
  };
  const flag = (name) => args.includes(`--${name}`);
  /** Project variables from every `--var NAME=value`, over `base` (recorded with the results). */
  const vars = (base) => {
    const out = { ...base };
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--var" && args[i + 1]?.includes("=")) {
        const [k, ...v] = args[i + 1].split("=");
        out[k] = v.join("=");
      }
    }
    return out;
  };
  return { option, flag, vars };
}

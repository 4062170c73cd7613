/** One thing wrong with a config file, at the position of the offending YAML node. */
export interface ConfigIssue {
  /** The config path exactly as given to loadConfig, so messages match what the admin typed. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`;
}

/** A warning as check-config prints it and start logs it: `FILE:LINE:COL: warning: message`. */
export function formatWarning(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: warning: ${issue.message}`;
}

/** Every problem of a config file at once: fixing them one run at a time wastes an admin's evening. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

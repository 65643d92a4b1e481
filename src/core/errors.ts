/**
 * An error caused by the caller's input. `field` names the argument (a dotted path such as
 * `phases[3].deps`) so an agent can fix its call without guessing. Tool handlers throw it;
 * the server turns it into an `isError` result. Nothing is written when it is thrown, because
 * every write happens inside one transaction that the throw rolls back.
 */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}

/** A configuration problem (factory.config.json or environment), named by its path. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

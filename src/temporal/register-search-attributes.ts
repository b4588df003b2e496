// At start, the worker and the ingest make sure the namespace knows bucketflow's search attributes (a
// workflow start that sets an unknown one is refused), so any Temporal server works, not only the stack's.
import type { temporal } from '@temporalio/proto';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { log } from '../telemetry/log';
import { SEARCH_ATTRIBUTES, createCommands, type SearchAttributeName } from '../delivery/search-attributes';
import { messageWithCause } from '../errors';

type OperatorService = temporal.api.operatorservice.v1.OperatorService;

/** The namespace lacks attributes (or has them with another type) and the server refused to add them. */
export class SearchAttributesError extends Error {
  /** Printed as plain text by src/fatal.ts, so the commands can be copied from the terminal. */
  readonly operatorText: string;
  constructor(
    message: string,
    /** What an operator runs to fix it; empty when a command cannot fix it (a type conflict). */
    readonly commands: string[],
  ) {
    super(
      commands.length > 0
        ? `${message}\nAsk an operator of the namespace to run:\n  ${commands.join('\n  ')}`
        : message,
    );
    this.name = 'SearchAttributesError';
    this.operatorText = this.message;
  }
}

/** 'KeywordList' (the CLI's spelling) as the API's enum. */
export function indexedValueType(type: string): temporal.api.enums.v1.IndexedValueType {
  const upperSnake = type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() as 'KEYWORD' | 'KEYWORD_LIST';
  const encoded = encodeSearchAttributeIndexedValueType(upperSnake);
  if (encoded === undefined) throw new Error(`search attribute type ${type}: unknown`);
  return encoded;
}

/** The API's enum in the CLI's spelling ('KeywordList'), for messages. */
function typeName(type: temporal.api.enums.v1.IndexedValueType): string {
  const names = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];
  return names.find((name) => indexedValueType(name) === type) ?? `type ${type}`;
}

/**
 * Adds the attributes the namespace lacks; returns their names (empty when all were there). Throws
 * SearchAttributesError, naming the exact CLI commands, when the server does not let this client add them.
 */
export async function ensureSearchAttributes(
  connection: { operatorService: OperatorService },
  namespace: string,
): Promise<string[]> {
  const existing = await customAttributes(connection, namespace);
  const conflicts = Object.entries(SEARCH_ATTRIBUTES).filter(
    ([name, type]) => name in existing && existing[name] !== indexedValueType(type),
  );
  if (conflicts.length > 0) {
    const described = conflicts.map(
      ([name, type]) => `${name} is ${typeName(existing[name])}, bucketflow needs ${type}`,
    );
    throw new SearchAttributesError(
      `namespace ${namespace}: search attribute type conflict: ${described.join('; ')}`,
      [],
    );
  }
  const missing = (Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[]).filter((name) => !(name in existing));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, indexedValueType(SEARCH_ATTRIBUTES[name])])),
    });
  } catch (err) {
    // Another worker or ingest starting at the same time may have added them first.
    const now = await customAttributes(connection, namespace).catch(() => existing);
    if (missing.every((name) => now[name] === indexedValueType(SEARCH_ATTRIBUTES[name]))) return missing;
    const reason = messageWithCause(err);
    throw new SearchAttributesError(
      `namespace ${namespace} lacks bucketflow's search attributes ${missing.join(', ')} and the server did not let bucketflow add them (${reason})`,
      createCommands(namespace, missing),
    );
  }
  return missing;
}

async function customAttributes(connection: { operatorService: OperatorService }, namespace: string) {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return customAttributes ?? {};
}

/** ensureSearchAttributes for an entry point: logs what it added. */
export async function checkSearchAttributes(
  connection: { operatorService: OperatorService },
  namespace: string,
): Promise<void> {
  const added = await ensureSearchAttributes(connection, namespace);
  if (added.length > 0) log('INFO', 'search attributes added', { namespace, added });
}

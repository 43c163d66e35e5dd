// `endpoint …`: the endpoints webhooks are sent to, their secrets, Verify and Send Test.
import { Option, type Command } from 'commander';
import { TYPE_FILTERS } from '../core/event-types.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../core/formats.js';
import { PAYLOAD_TYPES, type PayloadType } from '../core/payload.js';
import { AUTO_RECOVER_MODES, type AutoRecover } from '../core/recovery.js';
import type { EndpointView } from '../core/read-model.js';
import {
  addEndpoint,
  confirmRotation,
  editEndpoint,
  removeEndpoint,
  revealSecret,
  rotateSecret,
  sendTestEvent,
  setEndpointEnabled,
  verifyEndpoint,
  type EndpointChangesInput,
} from '../operations/endpoints.js';
import { publicEndpoint } from '../store/endpoints.js';
import { withOperations } from './context.js';
import { readCa } from './options.js';
import { localTime, print, UsageError } from './output.js';

const TYPES_HELP = `comma-separated types (${TYPE_FILTERS.join(', ')}), or all (every payload, no alert)`;

export function endpointCommand(program: Command): void {
  const endpoint = program.command('endpoint').description('manage the endpoints webhooks are sent to');

  deliveryOptions(
    endpoint
      .command('add <url>')
      .description('add an endpoint; prints its id, url and secret')
      .option('--types <list>', TYPES_HELP, 'all')
      .option('--secret <secret>', 'use this secret (whsec_…) instead of a generated one')
      .option('--ca <file>', 'also trust this CA certificate (PEM) for this endpoint')
      .option('--strict-order', 'one delivery in flight at a time, strictly in capture order'),
  ).action(
    async (
      url: string,
      options: DeliveryFlags & { types: string; secret?: string; ca?: string; strictOrder?: boolean },
      command: Command,
    ) => {
      const input = {
        url,
        types: typesOption(options.types),
        strictOrder: options.strictOrder ?? false,
        ...(options.secret !== undefined ? { secret: options.secret } : {}),
        ca: options.ca === undefined ? null : readCa(options.ca),
        ...deliveryInput(options),
      };
      await withOperations(command, (ctx) => {
        const added = addEndpoint(ctx, input);
        print(command, added, `id      ${added.id}\nurl     ${added.url}\nsecret  ${added.secret}`);
      });
    },
  );

  deliveryOptions(
    endpoint
      .command('edit <id>')
      .description("change an endpoint's URL, types, order, CA, format, recovery, rate or headers (its secret and deliveries stay)")
      .option('--url <url>', 'the new URL (HTTPS only)')
      .option('--types <list>', TYPES_HELP)
      .option('--strict-order', 'one delivery in flight at a time, strictly in capture order')
      .option('--no-strict-order', 'several deliveries in flight at once')
      .option('--ca <file>', 'also trust this CA certificate (PEM) for this endpoint')
      .option('--no-ca', 'stop trusting the CA given earlier'),
  )
    .option('--remove-header <name>', 'stop sending this header (repeatable)', collect)
    .action(
      async (
        id: string,
        options: DeliveryFlags & { url?: string; types?: string; strictOrder?: boolean; ca?: string | false; removeHeader?: string[] },
        command: Command,
      ) => {
        const changes: EndpointChangesInput = {
          ...(options.url !== undefined ? { url: options.url } : {}),
          ...(options.types !== undefined ? { types: typesOption(options.types) } : {}),
          ...(options.strictOrder !== undefined ? { strictOrder: options.strictOrder } : {}),
          ...(options.ca !== undefined ? { ca: options.ca === false ? null : readCa(options.ca) } : {}),
          ...deliveryInput(options),
          ...(options.removeHeader !== undefined ? { removeHeaders: options.removeHeader } : {}),
        };
        if (Object.keys(changes).length === 0)
          throw new UsageError(
            'say what to change: --url, --types, --strict-order/--no-strict-order, --ca/--no-ca, --format, --auto-recover, --max-per-minute, --header, --remove-header',
          );
        await withOperations(command, (ctx) => {
          const edited = editEndpoint(ctx, id, changes);
          print(command, edited, describeEndpoint(edited));
        });
      },
    );

  endpoint
    .command('list')
    .description('list the endpoints')
    .action(async (_options, command: Command) => {
      await withOperations(command, ({ store }) => {
        const endpoints = store.endpoints.list().map(publicEndpoint);
        print(
          command,
          endpoints,
          endpoints.length === 0 ? 'no endpoints yet: booth-agent endpoint add https://…' : endpoints.map(describeEndpoint).join('\n'),
        );
      });
    });

  endpoint
    .command('remove <id>')
    .description('remove an endpoint, with its deliveries')
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, (ctx) => {
        const result = removeEndpoint(ctx, id);
        const dropped = result.undeliveredDropped;
        print(command, result, `removed ${id}${dropped ? `; ${dropped} undelivered deliveries to it were dropped` : ''}`);
      });
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    endpoint
      .command(`${name} <id>`)
      .description(`${name} an endpoint`)
      .action(async (id: string, _options, command: Command) => {
        await withOperations(command, (ctx) => {
          const changed = setEndpointEnabled(ctx, id, enabled);
          print(command, changed, `${id} ${enabled ? 'enabled' : 'disabled'}`);
        });
      });
  }

  endpoint
    .command('rotate-secret <id>')
    .description('give the endpoint a new secret; the previous one keeps signing webhook-signature for 24 hours')
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, (ctx) => {
        const rotated = rotateSecret(ctx, id);
        print(
          command,
          rotated,
          `secret  ${rotated.secret}\nThe previous secret keeps signing webhook-signature for 24 hours, and X-Signature until ` +
            `"booth-agent endpoint confirm-rotation ${id}": run that once every receiver has the new secret.`,
        );
      });
    });

  endpoint
    .command('secret <id>')
    .description("print the endpoint's secret, to give to the receiver (and the previous one while a rotation is pending)")
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, (ctx) => {
        const revealed = revealSecret(ctx, id);
        print(
          command,
          revealed,
          revealed.previousSecret === null ? revealed.secret : `${revealed.secret}\nprevious ${revealed.previousSecret}`,
        );
      });
    });

  endpoint
    .command('confirm-rotation <id>')
    .description('the receivers have the new secret: X-Signature switches to it')
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, (ctx) => {
        const confirmed = confirmRotation(ctx, id);
        print(command, confirmed, `${id} signs X-Signature with its new secret`);
      });
    });

  endpoint
    .command('verify <id>')
    .description('send one small signed request and report what happened')
    .action(async (id: string, _options, command: Command) => {
      await withOperations(command, async (ctx) => {
        const report = await verifyEndpoint(ctx, id);
        print(command, report, `${report.ok ? 'OK' : 'NOT OK'}: ${report.url}\n${report.findings.map((f) => `  ${f}`).join('\n')}`);
        if (!report.ok) process.exitCode = 1;
      });
    });

  endpoint
    .command('test <id>')
    .description('send the example payload of a type, marked X-Booth-Agent-Test: true')
    .addOption(new Option('--type <type>', 'payload type').choices(PAYLOAD_TYPES).default('session'))
    .action(async (id: string, options: { type: PayloadType }, command: Command) => {
      await withOperations(command, async (ctx) => {
        const result = await sendTestEvent(ctx, id, options.type);
        print(command, result, `${result.status}: ${result.reason}\ndelivery ${result.deliveryId}`);
        if (result.status !== 'delivered') process.exitCode = 1;
      });
    });
}

/** `--types`: "all", or a comma-separated list (the operation checks each type). */
function typesOption(value: string): string[] | null {
  return value === 'all'
    ? null
    : value
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
}

/** `--header 'Name: value'`, repeatable: collected by name. */
function collectHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header must be written 'Name: value', not "${value.split(':')[0]}…"`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--max-per-minute`: a number, or off. Not null for off: commander stores a parser's null as "". */
function parseRate(value: string): number | 'off' {
  if (value === 'off') return 'off';
  if (!/^\d+$/.test(value)) throw new UsageError(`--max-per-minute must be a whole number or off, not "${value}"`);
  return Number(value);
}

/** The options add and edit share: how deliveries to the endpoint are shaped, paced and recovered. */
function deliveryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--format <format>', 'the body: the contract as it is, one level of keys, or a chat message').choices(PAYLOAD_FORMATS),
    )
    .addOption(
      new Option('--auto-recover <mode>', 'retry failures by themselves on recover_schedule (all: 4xx refusals too)').choices(
        AUTO_RECOVER_MODES,
      ),
    )
    .option('--max-per-minute <n>', 'start at most n attempts a minute (off: no limit)', parseRate)
    .option('--header <header>', "send this header with each delivery, 'Name: value' (repeatable)", collectHeader);
}

interface DeliveryFlags {
  format?: PayloadFormat;
  autoRecover?: AutoRecover;
  maxPerMinute?: number | 'off';
  header?: Record<string, string>;
}

function deliveryInput(options: DeliveryFlags) {
  return {
    ...(options.format !== undefined ? { format: options.format } : {}),
    ...(options.autoRecover !== undefined ? { autoRecover: options.autoRecover } : {}),
    ...(options.maxPerMinute !== undefined ? { maxPerMinute: options.maxPerMinute === 'off' ? null : options.maxPerMinute } : {}),
    ...(options.header !== undefined ? { headers: options.header } : {}),
  };
}

export function describeEndpoint(endpoint: EndpointView): string {
  const state = !endpoint.enabled
    ? `disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
    : endpoint.unreachableSince !== null
      ? `unreachable since ${localTime(endpoint.unreachableSince)}`
      : 'enabled';
  const types = endpoint.types === null ? 'all types' : endpoint.types.join(',');
  const traits = [
    ...(endpoint.format !== 'snappic' ? [`${endpoint.format} format`] : []),
    ...(endpoint.strictOrder ? ['strict order'] : []),
    ...(!endpoint.strictOrder && endpoint.inFlightLimit !== null ? [`up to ${endpoint.inFlightLimit} in flight`] : []),
    ...(endpoint.hasCa ? ['own CA'] : []),
    ...(endpoint.autoRecover !== 'on' ? [`auto-recover ${endpoint.autoRecover}`] : []),
    ...(endpoint.maxPerMinute !== null ? [`at most ${endpoint.maxPerMinute}/min`] : []),
    ...(endpoint.headerNames.length > 0 ? [`headers ${endpoint.headerNames.join(', ')}`] : []),
  ];
  return `${endpoint.id}  ${endpoint.url}  [${types}]${traits.map((t) => ` ${t}`).join('')}  ${state}`;
}

/** Every command the CLI knows: its words, arguments and options. Help and parsing are generated from this. */
import type { CommandSpec, OptionSpec } from './args';

const WAIT: OptionSpec = { name: 'wait', type: 'boolean', help: 'follow the operation to its end (progress on stderr)' };

export const VM_ACTIONS = ['start', 'stop', 'force-stop', 'reboot', 'suspend', 'resume'] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** The API's migration choices (libs/contracts/src/events/migration.ts; a unit test keeps them equal). */
export const MIGRATION_MODES = ['live', 'cold'] as const;
export const MIGRATION_STORAGE = ['copy', 'shared'] as const;
export const MIGRATION_STRATEGIES = ['auto', 'precopy', 'compressed', 'auto-converge', 'postcopy'] as const;
export const MIGRATION_STATES = ['requested', 'planned', 'running', 'completed', 'failed', 'cancelled'] as const;
/** Where a VM's disk lives (VmStorageKinds in libs/contracts/src/events/vm.ts; a unit test keeps them equal). */
export const VM_STORAGE = ['local', 'shared'] as const;
/** The planner's choices (libs/contracts/src/planner.ts; a unit test keeps them equal). */
export const RECOMMENDATION_STATES = ['open', 'applied', 'dismissed', 'expired'] as const;
export const AUTOMATION_LEVELS = ['manual', 'automatic'] as const;
export const ON_OFF = ['on', 'off'] as const;

export const COMMANDS: CommandSpec[] = [
  {
    path: ['hosts', 'add'],
    summary: 'Register a hypervisor host (the platform connects over SSH and discovers it)',
    args: [{ name: 'ADDRESS' }],
    options: [
      { name: 'port', type: 'int', value: 'N', min: 1, help: 'SSH port (default 22)' },
      { name: 'user', type: 'string', value: 'USER', help: 'SSH user (default root)' },
      { name: 'name', type: 'string', value: 'NAME', help: "the host's name (default: what discovery finds)" },
    ],
  },
  {
    path: ['hosts', 'import'],
    summary: 'Register every host listed in a file',
    args: [{ name: 'FILE' }],
    options: [],
    details: [
      'FILE: one host per line, "address", "address:port", "user@address" or "user@address:port"',
      '("[v6addr]:port" for IPv6); "#" starts a comment; blank lines are ignored. "-" reads stdin.',
      'Prints one result per line; exits 1 if any line failed (after trying them all).',
    ],
  },
  { path: ['hosts', 'list'], summary: 'List hosts', args: [], options: [] },
  { path: ['hosts', 'show'], summary: 'Show one host (by id, name or address)', args: [{ name: 'HOST' }], options: [] },
  {
    path: ['hosts', 'disable'],
    summary: 'Stop placing new VMs on a host',
    args: [{ name: 'HOST' }],
    options: [{ name: 'reason', type: 'string', value: 'TEXT', help: 'why (shown in the host view)' }],
  },
  { path: ['hosts', 'enable'], summary: 'Place VMs on a disabled host again', args: [{ name: 'HOST' }], options: [] },
  { path: ['hosts', 'remove'], summary: 'Remove a host (refused while VMs are on it)', args: [{ name: 'HOST' }], options: [] },
  {
    path: ['hosts', 'maintenance'],
    summary: 'Put a host into maintenance (its VMs are migrated away first), or take it out with --exit',
    args: [{ name: 'HOST' }],
    options: [
      { name: 'exit', type: 'boolean', help: 'take the host out of maintenance (it takes VMs again)' },
      { ...WAIT, help: 'follow the host until it is in maintenance (up with --exit): one line per change on stderr with the VMs left and the running migrations' },
    ],
    details: ['Example: minicloud host maintenance hv1 --wait'],
  },
  {
    path: ['images', 'add'],
    summary: 'Register an image file on the controller (qcow2 or raw)',
    args: [{ name: 'PATH' }],
    options: [
      { name: 'name', type: 'string', value: 'NAME', help: 'default: the file name without its extension' },
      { name: 'kernel', type: 'string', value: 'PATH', help: 'direct kernel boot: the kernel file' },
      { name: 'initrd', type: 'string', value: 'PATH', help: 'direct kernel boot: the initrd file' },
      { name: 'cmdline', type: 'string', value: 'TEXT', help: 'direct kernel boot: the kernel command line' },
    ],
    details: ['Relative paths are made absolute against the current directory (the file must be readable by the platform).'],
  },
  { path: ['images', 'list'], summary: 'List images', args: [], options: [] },
  { path: ['flavors', 'list'], summary: 'List flavors (named VM sizes)', args: [], options: [] },
  {
    path: ['flavors', 'create'],
    summary: 'Create a flavor',
    args: [{ name: 'NAME' }],
    options: [
      { name: 'vcpus', type: 'int', value: 'N', min: 1, help: 'virtual CPUs (required)' },
      { name: 'memory', type: 'int', value: 'MiB', min: 1, help: 'memory in MiB (required)' },
      { name: 'disk', type: 'int', value: 'GiB', min: 1, help: 'disk in GiB (required)' },
    ],
  },
  { path: ['flavors', 'delete'], summary: 'Delete a flavor', args: [{ name: 'NAME' }], options: [] },
  {
    path: ['vm', 'create'],
    summary: 'Create a VM',
    args: [{ name: 'NAME' }],
    options: [
      { name: 'flavor', type: 'string', value: 'FLAVOR', help: 'a flavor name (or give --vcpus, --memory and --disk)' },
      { name: 'vcpus', type: 'int', value: 'N', min: 1, help: 'virtual CPUs' },
      { name: 'memory', type: 'int', value: 'MiB', min: 1, help: 'memory in MiB' },
      { name: 'disk', type: 'int', value: 'GiB', min: 1, help: 'disk in GiB' },
      { name: 'image', type: 'string', value: 'IMAGE', help: 'image name or id (required)' },
      { name: 'ssh-key', type: 'string', repeat: true, value: 'FILE', help: 'a public key file (every key line in it is added)' },
      { name: 'user-data', type: 'string', value: 'FILE', help: 'cloud-init user data file (at most 64 KiB)' },
      { name: 'tag', type: 'string', repeat: true, value: 'KEY=VALUE', help: 'a tag' },
      { name: 'host', type: 'string', value: 'HOST', help: 'place the VM on this host (id or name)' },
      { name: 'storage', type: 'string', choices: VM_STORAGE, help: "local: the disk on the VM's host (default); shared: on the shared datastore (live migration moves no disk)" },
      { ...WAIT, help: 'wait until the VM runs (or fails); progress on stderr' },
    ],
    details: ['Example: minicloud vm create web-1 --flavor small --image minicloud-lab --ssh-key ~/.ssh/id_ed25519.pub --wait'],
  },
  {
    path: ['vm', 'list'],
    summary: 'List VMs (newest first)',
    args: [],
    options: [
      { name: 'status', type: 'string', value: 'STATUS', help: 'only VMs in this state (deleted VMs only when asked for)' },
      { name: 'host', type: 'string', value: 'HOST', help: 'only VMs on this host (id or name)' },
      { name: 'tag', type: 'string', repeat: true, value: 'KEY=VALUE', help: 'only VMs with this tag (filtered by the client)' },
      { name: 'limit', type: 'int', value: 'N', min: 1, help: 'at most N VMs (default 50)' },
      { name: 'offset', type: 'int', value: 'N', min: 0, help: 'skip the first N VMs' },
    ],
  },
  { path: ['vm', 'show'], summary: 'Show one VM (by id or name)', args: [{ name: 'VM' }], options: [] },
  ...VM_ACTIONS.map(
    (action): CommandSpec => ({
      path: ['vm', action],
      summary: {
        start: 'Start a stopped VM',
        stop: 'Shut a VM down gracefully',
        'force-stop': 'Power a VM off at once',
        reboot: 'Reboot a VM',
        suspend: "Pause a VM (its memory stays on the host)",
        resume: 'Resume a suspended VM',
      }[action],
      args: [{ name: 'VM' }],
      options: [WAIT],
    }),
  ),
  { path: ['vm', 'delete'], summary: 'Delete a VM and its disk', args: [{ name: 'VM' }], options: [WAIT] },
  {
    path: ['vm', 'console'],
    summary: "Print the last lines of a VM's serial console",
    args: [{ name: 'VM' }],
    options: [{ name: 'lines', type: 'int', value: 'N', min: 1, help: 'how many lines (default 100)' }],
  },
  {
    path: ['vm', 'migrate'],
    summary: 'Move a VM to another host (live by default)',
    args: [{ name: 'VM' }],
    options: [
      { name: 'to', type: 'string', value: 'HOST', help: 'the target host (id or name; default: the scheduler chooses)' },
      { name: 'mode', type: 'string', choices: MIGRATION_MODES, help: 'live (the VM keeps running; default) or cold (a stopped VM)' },
      { name: 'storage', type: 'string', choices: MIGRATION_STORAGE, help: 'copy the disk to the target (default for a local VM) or shared (both hosts see it: the default, and the only choice, for a VM with storage shared)' },
      { name: 'strategy', type: 'string', value: 'S', choices: MIGRATION_STRATEGIES, help: `${MIGRATION_STRATEGIES.join(', ')} (default auto: chosen by the cost model)` },
      { name: 'max-downtime', type: 'int', value: 'MS', min: 1, max: 60_000, help: 'longest pause of the guest accepted at the switch-over (ms)' },
      { name: 'bandwidth', type: 'int', value: 'MIBS', min: 1, max: 100_000, help: 'bandwidth cap of the migration stream (MiB/s)' },
      { ...WAIT, help: 'follow the migration every second: one progress line per change on stderr, then the result; exit 4 when it fails or is cancelled' },
    ],
    details: ['Example: minicloud vm migrate web-1 --to hv2 --max-downtime 300 --wait'],
  },
  {
    path: ['migration', 'list'],
    summary: 'List migrations (newest first)',
    args: [],
    options: [
      { name: 'vm', type: 'string', value: 'VM', help: "only this VM's migrations (id or name)" },
      { name: 'state', type: 'string', choices: MIGRATION_STATES, value: 'STATE', help: `only migrations in this state (${MIGRATION_STATES.join(', ')})` },
      { name: 'limit', type: 'int', value: 'N', min: 1, help: 'at most N migrations (default 50)' },
      { name: 'offset', type: 'int', value: 'N', min: 0, help: 'skip the first N migrations' },
    ],
  },
  { path: ['migration', 'show'], summary: 'Show one migration: progress, predictions, result, stages', args: [{ name: 'ID' }], options: [] },
  { path: ['migration', 'cancel'], summary: 'Cancel a migration (the VM stays on its source host)', args: [{ name: 'ID' }], options: [] },
  { path: ['migration', 'force-complete'], summary: 'Make a live migration switch over now (longer pause of the guest)', args: [{ name: 'ID' }], options: [] },
  {
    path: ['migration', 'recommendations'],
    summary: 'Migrations the planner proposes (balance, hot spots, consolidation, maintenance)',
    args: [],
    options: [{ name: 'state', type: 'string', choices: RECOMMENDATION_STATES, value: 'STATE', help: `only recommendations in this state (${RECOMMENDATION_STATES.join(', ')})` }],
  },
  { path: ['migration', 'apply'], summary: 'Start the migration a recommendation proposes', args: [{ name: 'RECOMMENDATION' }], options: [] },
  { path: ['migration', 'dismiss'], summary: 'Dismiss a recommendation (nothing is moved)', args: [{ name: 'RECOMMENDATION' }], options: [] },
  { path: ['planner', 'show'], summary: "Show the migration planner's settings", args: [], options: [] },
  {
    path: ['planner', 'set'],
    summary: "Change the migration planner's automation level and/or consolidation",
    args: [],
    options: [
      { name: 'automation', type: 'string', choices: AUTOMATION_LEVELS, help: 'manual (recommendations are only listed) or automatic (the planner starts them)' },
      { name: 'consolidation', type: 'string', choices: ON_OFF, help: 'empty lightly loaded hosts (on) or not (off)' },
    ],
    details: ['Example: minicloud planner set --automation automatic --consolidation on'],
  },
];

/** Component probes shared by the API's and the worker's health endpoints. */

const PROBE_TIMEOUT_MS = 3000;

/** Components without which a process cannot serve: it is not ready while one is down. */
export const REQUIRED_COMPONENTS = ['postgres', 'temporal'];

export type Probes = Record<string, () => Promise<unknown>>;

export interface ComponentCheck {
  status: 'up' | 'down';
  latencyMs: number;
  /** Whether the process is ready only while this component is up. */
  required: boolean;
  error?: string;
}

export interface HealthReport {
  status: 'up' | 'down';
  checks: Record<string, ComponentCheck>;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every probe at once; the report is down when a `required` component is. */
export async function checkComponents(probes: Probes, required: readonly string[]): Promise<HealthReport> {
  const checks: Record<string, ComponentCheck> = {};
  await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      const started = Date.now();
      const isRequired = required.includes(name);
      try {
        await withTimeout(probe());
        checks[name] = { status: 'up', latencyMs: Date.now() - started, required: isRequired };
      } catch (err) {
        checks[name] = {
          status: 'down',
          latencyMs: Date.now() - started,
          required: isRequired,
          error: (err as Error).message,
        };
      }
    }),
  );
  const up = Object.entries(checks).every(([, c]) => !c.required || c.status === 'up');
  return { status: up ? 'up' : 'down', checks };
}

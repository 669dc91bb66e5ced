/**
 * Scrapes a metrics endpoint and reads the Prometheus text with a parser nobody on the team
 * wrote (parse-prometheus-text-format, prom2json's shape), so a malformed exposition fails.
 */
// @ts-expect-error the package ships no types; its output is described by `Family` below
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One metric family as the parser returns it. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly { readonly labels?: Record<string, string>; readonly value?: string; readonly buckets?: Record<string, string>; readonly count?: string; readonly sum?: string }[];
}

/** The families of an exposition text, by name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = (parsePrometheusTextFormat as (text: string) => Family[])(text);
  return new Map(families.map((family) => [family.name, family]));
}

/** GETs `url`/metrics and parses it. */
export async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseExposition(await response.text());
}

/** A family's values by one label (`shard`, `cause`, …), as numbers. */
export function byLabel(family: Family | undefined, label: string): Map<string, number> {
  return new Map((family?.metrics ?? []).map((metric) => [metric.labels?.[label] ?? '', Number(metric.value)]));
}

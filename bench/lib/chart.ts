import { type Report, type Row, rawLimit } from "./results.js";
import { unaryScenario } from "./runner.js";
import { RAW_RPC } from "./stacks.js";
import { HEADLINE_BYTES } from "./targets.js";

const COLORS: Record<string, string> = {
  raw: "#8c8c8c",
  "micro-ts": "#1f6fb2",
  peer: "#e07b1f",
  registry: "#888",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

interface Panel {
  title: string;
  rows: Row[];
  value: (r: Row) => number | undefined;
  unit: string;
  /** A dashed target line: the raw limit's value times `factor`. */
  target?: { factor: number; label: string } | undefined;
}

/**
 * A hand-written SVG: horizontal bars, one per stack, colour by family (raw TCP grey, micro-ts
 * blue, peers orange), for unary c=64 req/s (higher is better) and unary c=1 p50 (lower is better)
 * at the headline payload.
 */
export function toSvg(rep: Report): string {
  const panels: Panel[] = [
    {
      title: `Unary echo, 64 concurrent, ${HEADLINE_BYTES / 1024} KiB: requests/s (higher is better)`,
      rows: rep.rows.filter((r) => r.scenario === unaryScenario(64, HEADLINE_BYTES)),
      value: (r: Row) => r.rate?.median,
      unit: "req/s",
      target: { factor: 0.5, label: "target: 0.5× raw limit" },
    },
    {
      title: `Unary echo, 1 at a time, ${HEADLINE_BYTES / 1024} KiB: p50 latency in µs (lower is better)`,
      rows: rep.rows.filter((r) => r.scenario === unaryScenario(1, HEADLINE_BYTES)),
      value: (r: Row) => r.p50Us?.median,
      unit: "µs",
      target: { factor: 1.3, label: "target: 1.3× raw limit" },
    },
  ].filter((p) => p.rows.length > 0);
  const width = 900;
  const labelW = 190;
  const barMax = 560;
  const barH = 20;
  const gap = 6;
  const parts: string[] = [];
  let y = 20;
  parts.push(
    `<text x="${width / 2}" y="${y}" text-anchor="middle" font-size="15" font-weight="bold">micro-ts benchmark (${esc(rep.config.mode)}, ${esc(rep.startedAt.slice(0, 16))}): medians of ${rep.config.rounds} rounds</text>`,
  );
  y += 14;
  parts.push(
    `<text x="${width / 2}" y="${y + 4}" text-anchor="middle" font-size="11" fill="#555">${esc(`Node ${rep.platform.node}, ${rep.platform.cpu} × ${rep.platform.cores}; client and server processes on one machine`)}</text>`,
  );
  y += 16;
  for (const p of panels) {
    y += 18;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    y += 8;
    const max = Math.max(1, ...p.rows.map((r) => p.value(r) ?? 0));
    const top = y;
    for (const r of p.rows) {
      const v = p.value(r);
      const cy = y + barH / 2 + 4;
      parts.push(`<text x="${labelW - 8}" y="${cy}" text-anchor="end" font-size="12">${esc(r.stack)}</text>`);
      if (r.status === "ok" && v !== undefined) {
        const w = Math.max(1, (v / max) * barMax);
        parts.push(
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[r.family] ?? "#444"}"/>`,
        );
        parts.push(`<text x="${labelW + w + 6}" y="${cy}" font-size="12">${fmt(v)} ${esc(p.unit)}</text>`);
      } else {
        parts.push(`<text x="${labelW + 6}" y="${cy}" font-size="12" fill="#999">${esc(r.status)}</text>`);
      }
      y += barH + gap;
    }
    const raw = rawLimit(p.rows, p.rows[0]?.scenario ?? "", RAW_RPC, p.unit === "µs" ? "p50" : "rate");
    const rawValue = raw ? p.value(raw) : undefined;
    if (p.target && rawValue !== undefined) {
      const tx = labelW + Math.min(1, (rawValue * p.target.factor) / max) * barMax;
      parts.push(
        `<line x1="${tx.toFixed(1)}" y1="${top - 2}" x2="${tx.toFixed(1)}" y2="${y - gap + 2}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5,4"/>`,
      );
      parts.push(
        `<text x="${(tx + 4).toFixed(1)}" y="${y + 8}" font-size="11" fill="#c0392b">${esc(p.target.label)}</text>`,
      );
      y += 12;
    }
  }
  y += 14;
  let lx = 10;
  for (const [name, color] of [
    ["raw TCP", COLORS.raw],
    ["micro-ts", COLORS["micro-ts"]],
    ["peers", COLORS.peer],
  ] as const) {
    parts.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y}" font-size="12">${name}</text>`);
    lx += 110;
  }
  y += 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

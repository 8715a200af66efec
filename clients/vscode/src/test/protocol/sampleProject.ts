/** A small Python project written to a temp folder for the protocol test. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const GEOMETRY_PY = `"""Shapes and their measures."""

import math


def rectangle_area(width: float, height: float) -> float:
    """Return the area of a rectangle that is width wide and height high."""
    return width * height


def circle_area(radius: float) -> float:
    """Return the area of a circle with the given radius."""
    return math.pi * radius * radius
`;

/** The cursor goes at the end of the `total += ` line, after its space. */
export const REPORT_PY = `"""Totals over many shapes."""

from shapes.geometry import circle_area, rectangle_area


def total_area(rectangles: list[tuple[float, float]]) -> float:
    """Sum the areas of (width, height) pairs."""
    total = 0.0
    for width, height in rectangles:
        total += 
    return total
`;

const REPORT_LINES = REPORT_PY.split('\n');
export const CURSOR_LINE = REPORT_LINES.findIndex((line) => line.trim() === 'total +=');
export const CURSOR_CHARACTER = REPORT_LINES[CURSOR_LINE]?.length ?? 0;

export interface SampleProject {
  readonly root: string;
  readonly rootUri: string;
  readonly geometryUri: string;
  readonly reportUri: string;
  remove(): void;
}

export function writeSampleProject(): SampleProject {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-vscode-'));
  const pkg = path.join(root, 'shapes');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, '__init__.py'), '');
  fs.writeFileSync(path.join(pkg, 'geometry.py'), GEOMETRY_PY);
  fs.writeFileSync(path.join(pkg, 'report.py'), REPORT_PY);
  const uri = (p: string): string => pathToFileURL(p).href;
  return {
    root,
    rootUri: uri(root),
    geometryUri: uri(path.join(pkg, 'geometry.py')),
    reportUri: uri(path.join(pkg, 'report.py')),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

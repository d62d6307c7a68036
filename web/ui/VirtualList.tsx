/**
 * A list that renders only the rows in (and near) view, so a room with 10,000 messages keeps a
 * few dozen in the DOM. Rows have any height: each is measured once rendered (ResizeObserver)
 * and estimated until then. What the reader looks at stays put when rows above it change
 * (older pages prepended, images loading, estimates corrected): the first visible row and its
 * offset are noted before each render and restored after it. At the bottom it stays at the
 * bottom, as chats do.
 */
import type { ComponentChild, RefObject } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

export interface VirtualHandle {
  scrollToBottom(): void;
  /** Brings a row into view and focuses it; false when no row has that key. */
  scrollToKey(key: string): boolean;
}

interface Props<T> {
  items: readonly T[];
  keyOf: (item: T) => string;
  render: (item: T, index: number) => ComponentChild;
  /** Height of a row not measured yet. */
  estimate: number;
  /** Above the rows, inside the scrolled area (e.g. "start of the conversation"). */
  header?: ComponentChild;
  /** The top is near: load older rows. */
  onNearTop?: () => void;
  onBottomChange?: (atBottom: boolean) => void;
  handle?: RefObject<VirtualHandle | null>;
  label: string;
  class?: string;
  /** Changes that are not in `items` but change rows (e.g. read positions). */
  revision?: unknown;
}

const OVERSCAN_PX = 800;
const BOTTOM_SLACK_PX = 48;

interface Layout {
  keys: string[];
  offsets: Float64Array;
  contentTop: number;
}

export function VirtualList<T>(props: Props<T>) {
  const { items, keyOf, estimate } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const headerRef = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>()).current;
  const layout = useRef<Layout | null>(null);
  const atBottom = useRef(true);
  const viewport = useRef({ top: 0, height: 800 });
  const [, setTick] = useState(0);
  const rerender = () => setTick((t) => t + 1);
  const focusKey = useRef<string | null>(null);
  const observer = useRef<ResizeObserver | null>(null);

  observer.current ??= new ResizeObserver((entries) => {
    let changed = false;
    for (const entry of entries) {
      const el = entry.target as HTMLElement;
      if (el === scroller.current) {
        viewport.current.height = el.clientHeight;
        changed = true;
        continue;
      }
      // A removed row reports a size of 0: it is not a measurement.
      if (!el.isConnected) {
        observer.current?.unobserve(el);
        continue;
      }
      const key = el.dataset.key;
      const h = el.offsetHeight;
      if (key && h > 0 && heights.get(key) !== h) {
        heights.set(key, h);
        changed = true;
      }
    }
    if (changed) rerender();
  });

  // Offsets of every row (prefix sums): 10,000 rows is a few hundred microseconds.
  const keys = items.map(keyOf);
  const offsets = new Float64Array(keys.length + 1);
  for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + (heights.get(keys[i]!) ?? estimate);
  const total = offsets[keys.length]!;

  // What the reader looks at now, by the previous layout: after this render the same row is
  // at the same place (at the bottom: the bottom stays in view).
  const el = scroller.current;
  const prev = layout.current;
  const contentTop = headerRef.current?.offsetHeight ?? 0;
  let viewTop = (el?.scrollTop ?? 0) - contentTop;
  if (atBottom.current) {
    viewTop = Math.max(0, total - viewport.current.height);
  } else if (el && prev && prev.keys.length) {
    const top = el.scrollTop - prev.contentTop;
    const p = Math.min(Math.max(0, upperBound(prev.offsets, top) - 1), prev.keys.length - 1);
    const i = prev.keys[p] === keys[p] ? p : keys.indexOf(prev.keys[p]!);
    if (i >= 0) viewTop = offsets[i]! + (top - prev.offsets[p]!);
  }
  const start = Math.max(0, upperBound(offsets, viewTop - OVERSCAN_PX) - 1);
  const end = Math.min(keys.length, lowerBound(offsets, viewTop + viewport.current.height + OVERSCAN_PX) + 1);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const contentTop = headerRef.current?.offsetHeight ?? 0;
    layout.current = { keys, offsets, contentTop };
    if (atBottom.current) el.scrollTop = el.scrollHeight;
    else if (Math.abs(el.scrollTop - (viewTop + contentTop)) > 0.5) el.scrollTop = viewTop + contentTop;
    if (focusKey.current) {
      const row = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey.current)}"] [tabindex]`);
      if (row) {
        focusKey.current = null;
        row.focus({ preventScroll: true });
      }
    }
    // Rendering may have moved the view: render again if the rows in view changed.
    if (Math.abs(el.scrollTop - viewport.current.top) > 1) onScroll();
  });

  useLayoutEffect(() => {
    const el = scroller.current!;
    observer.current!.observe(el);
    viewport.current.height = el.clientHeight;
    el.scrollTop = el.scrollHeight;
    return () => observer.current!.disconnect();
  }, []);

  if (props.handle) {
    props.handle.current = {
      scrollToBottom() {
        atBottom.current = true;
        props.onBottomChange?.(true);
        rerender();
      },
      scrollToKey(key) {
        const i = keys.indexOf(key);
        const el = scroller.current;
        if (i < 0 || !el) return false;
        atBottom.current = false;
        props.onBottomChange?.(false);
        el.scrollTop = Math.max(0, offsets[i]! + (headerRef.current?.offsetHeight ?? 0) - el.clientHeight / 3);
        focusKey.current = key;
        viewport.current.top = -1;
        rerender();
        return true;
      },
    };
  }

  let frame = 0;
  function onScroll(): void {
    const el = scroller.current;
    if (!el) return;
    viewport.current.top = el.scrollTop;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
    if (bottom !== atBottom.current) {
      atBottom.current = bottom;
      props.onBottomChange?.(bottom);
    }
    if (el.scrollTop < el.clientHeight) props.onNearTop?.();
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(rerender);
  }

  return (
    <div class={props.class ?? "vlist"} ref={scroller} onScroll={onScroll} role="log" aria-label={props.label} aria-live="polite" tabIndex={-1}>
      <div ref={headerRef}>{props.header}</div>
      <div style={{ height: `${offsets[start]}px` }} aria-hidden="true" />
      {items.slice(start, end).map((item, i) => (
        <div
          class="vl-row"
          key={keys[start + i]}
          data-key={keys[start + i]}
          ref={(row) => {
            if (row) observer.current?.observe(row);
          }}
        >
          {props.render(item, start + i)}
        </div>
      ))}
      <div style={{ height: `${total - offsets[end]!}px` }} aria-hidden="true" />
    </div>
  );
}

/** First index whose offset is > x. */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose offset is >= x. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

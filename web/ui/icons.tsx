/**
 * The interface's icons as inline SVG (not emoji: those depend on the system's fonts). Each is
 * decorative; the button around it carries the label.
 */
const PATHS = {
  bell: "M12 3a6 6 0 0 0-6 6v3.6L4.3 16h15.4L18 12.6V9a6 6 0 0 0-6-6Zm-2 15a2 2 0 0 0 4 0",
  gear: "M12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7Zm8 3.5-2-.6-.5-1.3 1-1.8-1.8-1.8-1.8 1-1.3-.5L13 4h-2l-.6 2-1.3.5-1.8-1-1.8 1.8 1 1.8L6 10.4 4 11v2l2 .6.5 1.3-1 1.8 1.8 1.8 1.8-1 1.3.5.6 2h2l.6-2 1.3-.5 1.8 1 1.8-1.8-1-1.8.5-1.3 2-.6Z",
  clip: "M16.5 7.5 9 15a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8.4 8.4a6 6 0 0 0 8.5 8.5L20 15.4",
  smile: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18ZM8.5 14.5s1.2 2 3.5 2 3.5-2 3.5-2M9 9.5h.01M15 9.5h.01",
  reply: "M10 8 4 13l6 5M4 13h10a6 6 0 0 1 6 6",
  edit: "M4 20h4L19 9l-4-4L4 16v4Zm9-13 4 4",
  trash: "M5 7h14M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  eye: "M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12Zm10-3a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z",
  archive: "M3 4h18v4H3zM5 8v12h14V8M10 12h4",
  restore: "M4 12a8 8 0 1 0 2.3-5.6M4 4v5h5",
  close: "M6 6l12 12M18 6 6 18",
  back: "M15 5l-7 7 7 7",
  file: "M6 3h8l4 4v14H6zM14 3v4h4",
  down: "M12 5v14M6 13l6 6 6-6",
};

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 18 }: { name: IconName; size?: number }) {
  return (
    <svg class="i" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} />
    </svg>
  );
}

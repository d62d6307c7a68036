export function freePort(): Promise<number>;
export function canListen(port: number): Promise<boolean>;

/* The few Node.js APIs the sync test uses, declared here rather than adding @types/node
 * to the pinned packages (Node 18+ provides them; fetch and the DOM types come from lib). */
declare const process: {
	env: Record<string, string | undefined>;
	exitCode: number | undefined;
	stderr: { write(s: string): boolean };
	stdout: { write(s: string): boolean };
};
declare module "node:fs" {
	export function appendFileSync(path: string, data: string): void;
}

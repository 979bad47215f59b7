/** An environment module as loaded (`LOADEDMODULES` entry). */
export interface ModuleRef {
  readonly name: string;
  /** Empty when the module was loaded without a version (the default version). */
  readonly version: string;
}

/**
 * Splits a loaded module into name and version: the version is the last path component (Lmod and
 * Tcl modules: `gcc/12.2.0`, hierarchical `Core/gcc/12.2.0` → `Core/gcc` + `12.2.0`, EasyBuild
 * `Python/3.11.3-GCCcore-12.3.0`); no slash means no version. Pure.
 */
export function parseModule(text: string): ModuleRef {
  const trimmed = text.trim().replace(/\/+$/, '');
  const at = trimmed.lastIndexOf('/');
  if (at <= 0) return { name: trimmed, version: '' };
  return { name: trimmed.slice(0, at), version: trimmed.slice(at + 1) };
}

export declare const anchorUrl: string;
export declare const anchorPath: string;
export declare function mikroOrm6Specifier(
  specifier: string,
  importer: string | undefined,
): string | undefined;

/**
 * Type declarations of the SDK without zod. tsc emits `.d.ts` for `src/client/` and the protocol
 * files it imports; a protocol file that imports zod would keep `z.infer<typeof Schema>` in its
 * declarations, so that file is written here instead: its zod schemas (values the SDK never
 * imports) are left out, and every type that names zod or a schema (`typeof`) is written out as
 * the plain type the checker resolves it to. Hand-written types are kept as they are.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
  types: [],
  strict: true,
  skipLibCheck: true,
  declaration: true,
  emitDeclarationOnly: true,
};

/** Writes `<outDir>/<path under rootDir>.d.ts` for `entry` and everything it imports. */
export function emitDeclarations({ entry, rootDir, outDir }) {
  const program = ts.createProgram([entry], { ...compilerOptions, rootDir, outDir });
  const errors = ts.getPreEmitDiagnostics(program);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, formatHost));
  const checker = program.getTypeChecker();
  const write = (file, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, withJsExtensions(text));
  };
  const result = program.emit(undefined, (file, text) => write(file, text), undefined, true);
  if (result.diagnostics.length) {
    throw new Error(ts.formatDiagnostics(result.diagnostics, formatHost));
  }
  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile || !importsZod(source)) continue;
    const out = join(outDir, relative(rootDir, source.fileName)).replace(/\.ts$/, ".d.ts");
    write(out, flatten(source, checker));
  }
}

const formatHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => "\n",
};

/**
 * Relative imports with `.js`, as ESM resolution (`moduleResolution: node16`) needs them; the
 * `.d.ts` beside each `.js` name is what TypeScript then reads.
 */
function withJsExtensions(text) {
  return text.replace(/((?:from |import\()["'])(\.{1,2}\/[^"']+?)(["'])/g, (_, a, path, b) =>
    path.endsWith(".js") ? `${a}${path}${b}` : `${a}${path}.js${b}`,
  );
}

function importsZod(source) {
  return source.statements.some(
    (s) => ts.isImportDeclaration(s) && s.moduleSpecifier.text === "zod",
  );
}

/** Names zod or takes a schema's type: such a declaration is written out by the checker. */
function needsChecker(text) {
  return /\bz\.|\btypeof\b/.test(text);
}

function flatten(source, checker) {
  const body = [];
  const imports = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (statement.moduleSpecifier.text !== "zod") imports.push(statement);
      continue;
    }
    if (!ts.isInterfaceDeclaration(statement) && !ts.isTypeAliasDeclaration(statement)) continue;
    const text = statement.getText(source);
    const doc = leadingDoc(statement, source);
    if (!needsChecker(text)) {
      body.push(`${doc}${text}`);
      continue;
    }
    // A generic helper over schemas (e.g. `InputsOf<T>`) has no single plain form; the types
    // built from it are written out in full, so nothing refers to it any more.
    if (statement.typeParameters?.length) continue;
    const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    const type = checker.getTypeAtLocation(statement.name);
    const printed = new Printer(checker).print(type, 0);
    body.push(`${doc}${exported ? "export " : ""}type ${statement.name.text} = ${printed};`);
  }
  const text = body.join("\n\n");
  const header = imports
    .map((i) => typeImport(i, source, text))
    .filter(Boolean)
    .join("\n");
  return `${header ? `${header}\n\n` : ""}${text}\n`;
}

function leadingDoc(node, source) {
  const docs = ts.getJSDocCommentsAndTags(node).filter((d) => d.kind === ts.SyntaxKind.JSDoc);
  return docs.map((d) => `${d.getText(source)}\n`).join("");
}

/** The import's names that the written-out file still uses, type-only. */
function typeImport(declaration, source, text) {
  const bindings = declaration.importClause?.namedBindings;
  if (!bindings || !ts.isNamedImports(bindings)) return "";
  const used = bindings.elements
    .map((e) => e.name.text)
    .filter((name) => new RegExp(`\\b${name}\\b`).test(text));
  if (!used.length) return "";
  return `import type { ${used.join(", ")} } from ${declaration.moduleSpecifier.getText(source)};`;
}

const KEYWORDS = [
  [ts.TypeFlags.Any, "any"],
  [ts.TypeFlags.Unknown, "unknown"],
  [ts.TypeFlags.String, "string"],
  [ts.TypeFlags.Number, "number"],
  [ts.TypeFlags.Boolean, "boolean"],
  [ts.TypeFlags.BigInt, "bigint"],
  [ts.TypeFlags.ESSymbol, "symbol"],
  [ts.TypeFlags.Null, "null"],
  [ts.TypeFlags.Undefined, "undefined"],
  [ts.TypeFlags.Void, "void"],
  [ts.TypeFlags.Never, "never"],
];

/** Writes a resolved type structurally, with no alias names (zod's would leak in). */
class Printer {
  constructor(checker) {
    this.checker = checker;
  }

  print(type, depth) {
    if (depth > 30)
      throw new Error(`Type too deep to write out: ${this.checker.typeToString(type)}`);
    for (const [flag, keyword] of KEYWORDS) if (type.flags & flag) return keyword;
    if (type.flags & (ts.TypeFlags.StringLiteral | ts.TypeFlags.NumberLiteral)) {
      return JSON.stringify(type.value);
    }
    if (type.flags & ts.TypeFlags.BooleanLiteral) return this.checker.typeToString(type);
    if (type.flags & ts.TypeFlags.Union) return this.union(type, depth);
    if (type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) {
      return this.object(type, depth);
    }
    throw new Error(`Cannot write out the type ${this.checker.typeToString(type)}`);
  }

  union(type, depth) {
    const members = type.types.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
    const printed = members.map((t) => this.print(t, depth));
    // `true | false` is how the checker stores `boolean`.
    if (members.length < type.types.length) {
      const both = type.types.length - members.length === 2;
      printed.push(both ? "boolean" : this.checker.typeToString(type.types.find(isBoolLiteral)));
    }
    return printed.join(" | ");
  }

  object(type, depth) {
    const { checker } = this;
    if (checker.isArrayType(type)) {
      const element = checker.getTypeArguments(type)[0];
      const printed = this.print(element, depth);
      return element.flags & ts.TypeFlags.Union ? `(${printed})[]` : `${printed}[]`;
    }
    if (checker.isTupleType(type)) {
      return `[${checker
        .getTypeArguments(type)
        .map((t) => this.print(t, depth))
        .join(", ")}]`;
    }
    if (type.getCallSignatures().length) {
      throw new Error(`Cannot write out a function type: ${checker.typeToString(type)}`);
    }
    const pad = "  ".repeat(depth + 1);
    const members = checker.getIndexInfosOfType(type).map((info) => {
      const key = this.print(info.keyType, depth + 1);
      return `${pad}[key: ${key}]: ${this.print(info.type, depth + 1)};`;
    });
    for (const property of checker.getPropertiesOfType(type)) {
      const optional = property.flags & ts.SymbolFlags.Optional ? "?" : "";
      const doc = ts.displayPartsToString(property.getDocumentationComment(checker));
      const value = this.print(checker.getTypeOfSymbol(property), depth + 1);
      const comment = doc ? `${pad}/** ${doc.replace(/\n/g, ` `)} */\n` : "";
      members.push(`${comment}${pad}${propertyName(property.name)}${optional}: ${value};`);
    }
    if (!members.length) return "{}";
    return `{\n${members.join("\n")}\n${"  ".repeat(depth)}}`;
  }
}

function isBoolLiteral(type) {
  return Boolean(type.flags & ts.TypeFlags.BooleanLiteral);
}

function propertyName(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

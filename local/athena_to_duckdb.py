"""Athena SQL to DuckDB SQL for the local query engine (local/sql-engine.ts), with sqlglot.

Runs as a long-lived child process: one JSON request per line on stdin, {"sql": "<script>"}, and one
JSON answer per line on stdout: {"statements": [{"athena": text, "duckdb": text}, ...]}, or
{"error": {"statement": n, "count": n or null, "athena": text, "message": sqlglot's, "line": n,
"column": n}} for the first statement that could not be split or translated, its position in the
script (null when sqlglot gives none).

sqlglot's athena -> duckdb translation does most of the work; the fix-ups below are for what it
leaves with another meaning in DuckDB, each with the reason. The `athena_*` functions they call are
macros the engine defines.
"""

import json
import logging
import sys

import sqlglot
from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.dialects.hive import Hive
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel, TokenError
from sqlglot.tokens import TokenType

# sqlglot logs what it parses as an opaque command (SHOW, DESCRIBE) on stderr, which is the user's
# terminal; the statement still runs.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

ATHENA = Athena()
TRINO = Trino()
HIVE = Hive()


class SplitError(Exception):
    """Text that no Athena engine can read, from `index` on, in statement `number` starting at `start`."""

    def __init__(self, message, index, start=0, number=1):
        super().__init__(message)
        self.index = index
        self.start = start
        self.number = number


def tokens_until_error(dialect, text):
    """The tokens of `text`, or those before the first one the dialect cannot read, and that error."""
    tokenizer = dialect.tokenizer()
    try:
        return tokenizer.tokenize(text), None
    except TokenError as error:
        return tokenizer.tokens, error


def first_statement(dialect, text):
    """The tokens of the first statement of `text` and the index after its `;` (None: it ends the text)."""
    tokens, error = tokens_until_error(dialect, text)
    end = next((token for token in tokens if token.token_type == TokenType.SEMICOLON), None)
    if end is not None:
        return [token for token in tokens if token.start < end.start], end.end + 1
    if error is not None:
        index = tokens[-1].end + 1 if tokens else 0
        index += len(text[index:]) - len(text[index:].lstrip())
        raise SplitError("Error tokenizing: an unterminated string, quoted name or comment?", index)
    return tokens, None


def routed_to_hive(statement):
    try:
        tokens = ATHENA.tokenize(statement)
    except TokenError:
        # sqlglot's Athena tokenizer fails only where it has tried Hive's rules: on a statement
        # Athena may send to Hive.
        return True
    return bool(tokens) and tokens[0].token_type == TokenType.HIVE_TOKEN_STREAM


def split(sql):
    """(start, end) of each statement of a script, in order, without the `;` and empty statements.

    Athena runs one statement at a time, on its Trino engine or, for most DDL, on Hive, whose strings
    take backslash escapes; sqlglot's Athena tokenizer picks the engine from the first statement of
    the text it is given. So each statement is cut where Trino's rules end it, then cut again with
    Hive's rules when Athena would send that statement to Hive: a `SHOW TABLES;` before it cannot
    make `SELECT 'C:\\'; SELECT 2` one statement.
    """
    spans = []
    offset = 0
    while offset is not None and offset < len(sql):
        rest = sql[offset:]
        try:
            tokens, after = first_statement(TRINO, rest)
            if tokens and routed_to_hive(rest[tokens[0].start : tokens[-1].end + 1]):
                tokens, after = first_statement(HIVE, rest)
        except SplitError as error:
            start = offset + len(rest) - len(rest.lstrip())
            raise SplitError(str(error), offset + error.index, start, len(spans) + 1) from error
        if tokens:
            # A statement sqlglot reads as a command (SHOW, DESCRIBE) ends in one token holding the
            # rest of the text up to the `;`, its white space included.
            text = rest[tokens[0].start : tokens[-1].end + 1]
            spans.append((offset + tokens[0].start, offset + tokens[0].start + len(text.rstrip())))
        offset = None if after is None else offset + after
    return spans


def position(text, index):
    """1-based line and column of `index` in `text`."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def unnest_as_subquery(unnest):
    """An Athena `UNNEST(a, ...) [WITH ORDINALITY] [AS t[(c, ...)]]` as a DuckDB subquery.

    Athena gives each field of an array of rows its own column (`UNNEST(tags) AS t(key, value)`, or
    `t.key` without a column list); DuckDB's UNNEST in FROM gives one struct column instead. In a
    select list, `unnest(a, max_depth := 2)` unnests the array and then its struct, one level each,
    so nested structs stay structs (an array of arrays would be flattened, but no table has one). With
    one column name per array, each array gives one column, as a scalar array does in Athena (and an
    array of rows did before Athena engine version 3, as in `UNNEST(items) AS t(item)`). DuckDB joins
    such a subquery laterally by itself, for CROSS and LEFT JOIN alike.
    """
    arrays = [arg.sql(dialect="duckdb") for arg in unnest.expressions]
    alias = unnest.args.get("alias")
    names = list(alias.columns) if alias else []
    depth = 1 if len(names) == len(arrays) else 2
    columns = [f"UNNEST({array}, max_depth := {depth})" for array in arrays]
    ordinality = unnest.args.get("offset")
    if ordinality:
        lengths = ", ".join(f"LEN({array})" for array in arrays)
        longest = lengths if len(arrays) == 1 else f"GREATEST({lengths})"
        columns.append(f"UNNEST(RANGE(1, {longest} + 1))")
        if isinstance(ordinality, exp.Identifier):
            names.append(ordinality.copy())
    subquery = exp.maybe_parse(f"(SELECT {', '.join(columns)})", dialect="duckdb")
    table = alias.this.copy() if alias and alias.this else exp.to_identifier("_unnest")
    return exp.Subquery(this=subquery.this, alias=exp.TableAlias(this=table, columns=names))


def json_path_argument(path):
    """A literal path of a JSON function in DuckDB's syntax (`$."a b"` for Athena's `$["a b"]`)."""
    return sqlglot.parse_one(path.sql(dialect="duckdb"), dialect="duckdb") if isinstance(path, exp.JSONPath) else path


def fix_up(node):
    if isinstance(node, exp.Unnest) and isinstance(node.parent, (exp.From, exp.Join)):
        return unnest_as_subquery(node)
    if isinstance(node, exp.DateDiff):
        # Athena counts whole units elapsed (23:59 to 00:01 is 0 days); DuckDB's date_diff counts
        # boundaries crossed (1 day) and its date_sub counts whole units.
        unit = exp.Literal.string((node.unit.name if node.unit else "day").lower())
        return exp.Anonymous(this="date_sub", expressions=[unit, node.expression, node.this])
    if isinstance(node, exp.DataType) and node.is_type(exp.DataType.Type.TIMESTAMP) and node.expressions:
        # Athena types `timestamp '2024-01-02 03:04:05'` timestamp(0); DuckDB's TIMESTAMP(0) is
        # TIMESTAMP_S, which it neither compares with current_timestamp nor passes to date_sub.
        return exp.DataType.build("TIMESTAMP")
    if isinstance(node, exp.ApproxDistinct):
        # DuckDB's HyperLogLog is off from 10 values on (11 for 10), where Athena's sparse estimate
        # is exact. On a local copy, an exact count is the closer answer.
        return exp.Count(this=exp.Distinct(expressions=[node.this]))
    if isinstance(node, exp.RegexpExtract):
        # Athena answers NULL when the pattern does not match; DuckDB answers ''.
        group = node.args.get("group") or exp.Literal.number(0)
        return exp.Anonymous(this="athena_regexp_extract", expressions=[node.this, node.expression, group])
    if isinstance(node, exp.SplitPart):
        # Athena answers NULL for a part past the last; DuckDB answers ''.
        parts = [node.this, node.args["delimiter"], node.args["part_index"]]
        return exp.Anonymous(this="athena_split_part", expressions=parts)
    if isinstance(node, (exp.JSONExtractScalar, exp.JSONExtract)):
        # Athena answers NULL for text that is not JSON (UserSuppliedJSONMetadata is free text) and
        # json_extract_scalar answers NULL for an object or array; DuckDB's operators raise an
        # error or return the JSON text.
        name = "json_extract_scalar" if isinstance(node, exp.JSONExtractScalar) else "json_extract"
        return exp.Anonymous(this=f"athena_{name}", expressions=[node.this, json_path_argument(node.expression)])
    return node


def name_columns_as_athena(tree):
    """Athena names a selected expression without an alias `_col<position>`; DuckDB names it with
    its text, which would be the translated text."""
    for select in tree.find_all(exp.Select):
        for index, projection in enumerate(select.expressions):
            if not isinstance(projection, (exp.Alias, exp.Column, exp.Dot, exp.Star)):
                projection.replace(exp.alias_(projection.copy(), f"_col{index}"))
    return tree


def translate(statement):
    tree = name_columns_as_athena(sqlglot.parse_one(statement, dialect=ATHENA))
    # Each node after everything under it, so that a fix-up that rewrites a call gets its arguments
    # fixed up already.
    for node in reversed(list(tree.dfs())):
        fixed = fix_up(node)
        if fixed is not node:
            node.replace(fixed)
    return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)


def failure(number, count, statement, message, line=None, column=None):
    return {
        "error": {
            "statement": number,
            "count": count,
            "athena": statement,
            "message": message,
            "line": line,
            "column": column,
        }
    }


def answer(request):
    sql = request["sql"]
    try:
        spans = split(sql)
    except SplitError as error:
        return failure(error.number, None, sql[error.start :].strip(), str(error), *position(sql, error.index))
    statements = []
    for number, (start, end) in enumerate(spans, 1):
        statement = sql[start:end]
        try:
            statements.append({"athena": statement, "duckdb": translate(statement)})
        except Exception as error:  # noqa: BLE001 - whatever sqlglot raises is reported with its statement
            detail = (getattr(error, "errors", None) or [{}])[0]
            message = detail.get("description") or str(error).split("\n")[0] or type(error).__name__
            line, column = detail.get("line"), detail.get("col")
            if line is not None and column is not None:
                # sqlglot's position is in the statement; the script's is what its author sees.
                first_line, first_column = position(sql, start)
                line, column = line + first_line - 1, column + (first_column - 1 if line == 1 else 0)
            return failure(number, len(spans), statement, message, line, column)
    return {"statements": statements}


def main():
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()

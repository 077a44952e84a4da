package org.jtune.data.parquet;

import java.util.ArrayList;
import java.util.List;

/**
 * A field of a parquet schema: a group of fields or a column of values, with its repetition and the definition
 * and repetition levels at which it is present (Dremel's encoding of nesting).
 *
 * @param physicalType for columns, the parquet type (0 BOOLEAN .. 7 FIXED_LEN_BYTE_ARRAY); -1 for groups
 * @param defLevel     the definition level at which this field is present
 * @param repLevel     the repetition level of this field (the number of repeated fields on its path)
 * @param firstLeaf    index of the first column under this field, in schema order
 * @param leafCount    columns under this field
 */
record SchemaNode(String name, Repetition repetition, int physicalType, Annotation annotation,
                  List<SchemaNode> children, int defLevel, int repLevel, int firstLeaf, int leafCount) {

    enum Repetition { REQUIRED, OPTIONAL, REPEATED }

    /** The logical meanings the record assembly cares about. */
    enum Annotation { NONE, STRING, LIST, MAP, JSON }

    static final int BOOLEAN = 0, INT32 = 1, INT64 = 2, INT96 = 3, FLOAT = 4, DOUBLE = 5, BYTE_ARRAY = 6,
            FIXED_LEN_BYTE_ARRAY = 7;

    boolean isLeaf() {
        return physicalType >= 0;
    }

    /**
     * The schema tree of a file's footer: the elements come depth-first, each group saying how many children
     * follow. Returns the root; its leaves in order are the file's column chunks.
     */
    static SchemaNode fromElements(List<ThriftCompact.Struct> elements) {
        if (elements.isEmpty()) {
            throw new ParquetException("the file has no schema");
        }
        int[] next = {0};
        int[] leaves = {0};
        SchemaNode root = build(elements, next, leaves, 0, 0, true);
        if (next[0] != elements.size()) {
            throw new ParquetException("the schema has " + elements.size() + " elements but its groups hold "
                    + next[0]);
        }
        return root;
    }

    private static SchemaNode build(List<ThriftCompact.Struct> elements, int[] next, int[] leaves, int parentDef,
                                    int parentRep, boolean root) {
        if (next[0] >= elements.size()) {
            throw new ParquetException("the schema's groups announce more children than it has elements");
        }
        ThriftCompact.Struct e = elements.get(next[0]++);
        Repetition repetition = root ? Repetition.REQUIRED : Repetition.values()[(int) e.integer(3, 0)];
        int def = parentDef + (repetition == Repetition.REQUIRED ? 0 : 1);
        int rep = parentRep + (repetition == Repetition.REPEATED ? 1 : 0);
        String name = e.string(4);
        int children = (int) e.integer(5, 0);
        Annotation annotation = annotation(e);
        int firstLeaf = leaves[0];
        if (!e.has(1) || children > 0) {
            if (children == 0 && !root) {
                throw new ParquetException("schema field '" + name + "' is a group with no fields");
            }
            List<SchemaNode> kids = new ArrayList<>(children);
            for (int i = 0; i < children; i++) {
                kids.add(build(elements, next, leaves, def, rep, false));
            }
            return new SchemaNode(name, repetition, -1, annotation, List.copyOf(kids), def, rep, firstLeaf,
                    leaves[0] - firstLeaf);
        }
        leaves[0]++;
        return new SchemaNode(name, repetition, (int) e.integer(1), annotation, List.of(), def, rep, firstLeaf, 1);
    }

    private static Annotation annotation(ThriftCompact.Struct e) {
        ThriftCompact.Struct logical = e.struct(10);
        if (logical != null) {
            if (logical.has(1) || logical.has(4)) {
                return Annotation.STRING; // STRING, ENUM
            }
            if (logical.has(2)) {
                return Annotation.MAP;
            }
            if (logical.has(3)) {
                return Annotation.LIST;
            }
            if (logical.has(12)) {
                return Annotation.JSON;
            }
        }
        return switch ((int) e.integer(6, -1)) {
            case 0, 4 -> Annotation.STRING; // UTF8, ENUM
            case 1, 2 -> Annotation.MAP; // MAP, MAP_KEY_VALUE
            case 3 -> Annotation.LIST;
            case 19 -> Annotation.JSON;
            default -> Annotation.NONE;
        };
    }

    /** The leaves under this node, in schema order. */
    void collectLeaves(List<SchemaNode> out) {
        if (isLeaf()) {
            out.add(this);
        }
        for (SchemaNode c : children) {
            c.collectLeaves(out);
        }
    }
}

package org.jtune.data.parquet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Rebuilds rows as JSON objects from the columns of a row group (Dremel record assembly): walks the schema, and
 * at each optional or repeated field reads from the field's first column whether it is present and whether another
 * repetition follows. LIST-annotated groups become JSON arrays (the three-level layout and the older two-level
 * ones), MAP-annotated groups JSON objects, strings text; so a {@code messages} column of a Hub dataset reads as
 * the same list of {role, content} objects its JSON Lines form has.
 */
final class RowAssembler {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SchemaNode root;
    private final ColumnChunk[] columns;

    RowAssembler(SchemaNode root, ColumnChunk[] columns) {
        this.root = root;
        this.columns = columns;
    }

    ObjectNode next() {
        ObjectNode row = NODES.objectNode();
        for (SchemaNode field : root.children()) {
            row.set(field.name(), field(field));
        }
        return row;
    }

    /** A field of a present parent: null, an array for a repeated field, or its value. */
    private JsonNode field(SchemaNode n) {
        ColumnChunk first = columns[n.firstLeaf()];
        if (n.repetition() == SchemaNode.Repetition.REPEATED) {
            ArrayNode items = NODES.arrayNode();
            if (first.peekDef() < n.defLevel()) {
                skip(n);
                return items;
            }
            do {
                items.add(present(n));
            } while (first.hasNext() && first.peekRep() == n.repLevel());
            return items;
        }
        if (n.repetition() == SchemaNode.Repetition.OPTIONAL && first.peekDef() < n.defLevel()) {
            skip(n);
            return NODES.nullNode();
        }
        return present(n);
    }

    /** The field is absent for this parent: each of its columns holds one entry that says so. */
    private void skip(SchemaNode n) {
        for (int i = n.firstLeaf(); i < n.firstLeaf() + n.leafCount(); i++) {
            columns[i].take();
        }
    }

    /** One occurrence of a field known to be present. */
    private JsonNode present(SchemaNode n) {
        if (n.isLeaf()) {
            return value(columns[n.firstLeaf()].take(), n);
        }
        ObjectNode group = NODES.objectNode();
        for (SchemaNode child : n.children()) {
            group.set(child.name(), field(child));
        }
        if (n.annotation() == SchemaNode.Annotation.LIST && n.children().size() == 1
                && n.children().getFirst().repetition() == SchemaNode.Repetition.REPEATED) {
            return list(n.children().getFirst(), (ArrayNode) group.get(n.children().getFirst().name()));
        }
        if (n.annotation() == SchemaNode.Annotation.MAP && n.children().size() == 1
                && n.children().getFirst().repetition() == SchemaNode.Repetition.REPEATED) {
            return map((ArrayNode) group.get(n.children().getFirst().name()));
        }
        return group;
    }

    /**
     * The elements of a LIST: the repeated field's single child (three levels: {@code list.element}), or the
     * repeated field itself where it is a value, a group of several fields, or named {@code array} or
     * {@code *_tuple} (the older layouts the format's compatibility rules name).
     */
    private static ArrayNode list(SchemaNode repeated, ArrayNode items) {
        boolean elementIsChild = !repeated.isLeaf() && repeated.children().size() == 1
                && !repeated.name().equals("array") && !repeated.name().endsWith("_tuple");
        if (!elementIsChild) {
            return items;
        }
        String name = repeated.children().getFirst().name();
        ArrayNode out = NODES.arrayNode(items.size());
        items.forEach(item -> out.add(item.get(name)));
        return out;
    }

    private static ObjectNode map(ArrayNode entries) {
        ObjectNode out = NODES.objectNode();
        for (JsonNode e : entries) {
            JsonNode key = e.get("key");
            out.set(key == null || key.isNull() ? "null" : key.asText(), e.get("value"));
        }
        return out;
    }

    private static JsonNode value(Object v, SchemaNode column) {
        if (v == null) {
            return NODES.nullNode();
        }
        return switch (v) {
            case Boolean b -> NODES.booleanNode(b);
            case Integer i -> NODES.numberNode(i);
            case Long l -> NODES.numberNode(l);
            case Float f -> NODES.numberNode(f);
            case Double d -> NODES.numberNode(d);
            case byte[] bytes -> bytes(bytes, column);
            default -> throw new IllegalStateException("unexpected value " + v.getClass());
        };
    }

    private static JsonNode bytes(byte[] bytes, SchemaNode column) {
        switch (column.annotation()) {
            case STRING -> {
                return NODES.textNode(new String(bytes, StandardCharsets.UTF_8));
            }
            case JSON -> {
                try {
                    return JSON.readTree(bytes);
                } catch (java.io.IOException e) {
                    return NODES.textNode(new String(bytes, StandardCharsets.UTF_8));
                }
            }
            default -> {
                if (column.physicalType() != SchemaNode.BYTE_ARRAY) {
                    return NODES.textNode(HexFormat.of().formatHex(bytes)); // fixed-length ids, INT96 times
                }
                try { // unannotated binary: text where it is UTF-8 (some writers do not mark strings)
                    return NODES.textNode(StandardCharsets.UTF_8.newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(ByteBuffer.wrap(bytes)).toString());
                } catch (CharacterCodingException e) {
                    return NODES.binaryNode(bytes);
                }
            }
        }
    }
}

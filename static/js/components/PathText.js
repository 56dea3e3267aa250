// Text that may hold long paths. Lines break at spaces and after each / or \, never inside
// a name (say, after the hyphen of "sh0040-lighting"), unless one name alone is wider than
// the line. The text itself is untouched, so copying it gives the path as it is.
import { h } from 'vue';

/** The text as words and the spaces between them, each word cut after its separators. */
export function pathPieces(text) {
  const pieces = [];
  for (const piece of text.split(/(\s+)/)) {
    if (!piece) continue;
    if (/^\s/.test(piece)) pieces.push({ space: piece });
    else for (const part of piece.split(/(?<=[/\\])/)) pieces.push({ part });
  }
  return pieces;
}

export default {
  name: 'PathText',
  props: { text: { type: [String, Number], default: '' } },
  setup(props) {
    return () =>
      h(
        'span',
        { class: 'path-text' },
        pathPieces(String(props.text)).map((piece) => (piece.space !== undefined ? piece.space : h('span', { class: 'path-part' }, piece.part))),
      );
  },
};

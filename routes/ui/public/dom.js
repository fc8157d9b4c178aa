// Building DOM nodes without innerHTML: every value from the gateway becomes a text node, so a key
// name or model id can never turn into markup or script.
const svgNs = 'http://www.w3.org/2000/svg'

function fill(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    element.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return element
}

/** An HTML element: h('td', { class: 'num' }, '42'). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children)
}

/** An SVG element, same shape as h(). */
export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(svgNs, tag), attrs, children)
}

export function byId(id) {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from index.html`)
  return element
}

export default { name: 'LastRenderedView', template: '<p>LastRenderedView</p>' };

export default { name: 'WorkersView', template: '<p>WorkersView</p>' };
